#include "ckernels.h"
#include <string.h>

// The interleaved Q6_K layout of ck_repack_q6_Kx8 (see ckernels.h). One group-super-block holds super-block s of eight
// consecutive rows in the 1680 bytes their eight 210-byte blocks take:
//   bytes 0..15       the rows' half d, row 0 first;
//   bytes 16..143     the int8 scales in pairs of sub-blocks: byte 16 + 16p + 2r + t is row r's scale of sub-block
//                     2p + t (16 sub-blocks of 16 elements);
//   bytes 144..1167   low four bits: sub-block j (elements 16j..16j+15) in two 32-byte vectors at 144 + 64j; in vector
//                     v, byte 4r + e holds element 8v + e of the sub-block (row r) in its low nibble, 8v + 4 + e in its
//                     high nibble;
//   bytes 1168..1679  high two bits: one 32-byte vector per sub-block at 1168 + 32j; byte 4r + e holds, from bit 0,
//                     those of elements e, 4 + e, 8 + e and 12 + e of the sub-block (row r).
// Values are stored as ggml stores them, 0..63 (the weight is the value − 32). Element 128n + 32k + l of a ggml
// block_q6_K takes its low four bits from ql[64n + 32(k % 2) + l] (low nibble for k < 2, high for k ≥ 2) and its high
// two from bits 2k, 2k + 1 of qh[32n + l]; the scales are int8 scales[16], d the half at byte 208.

static uint8_t value(const uint8_t *blk, int i) {  // i < 256
    const int n = i / 128, k = (i % 128) / 32, l = i % 32;
    const uint8_t q = blk[64 * n + 32 * (k % 2) + l];
    return (uint8_t)(((k < 2 ? q : q >> 4) & 0x0F) | (((blk[128 + 32 * n + l] >> (2 * k)) & 3) << 4));
}

void ck_repack_q6_Kx8(const void *src, size_t row_bytes, int nrows, int ncols, void *dst) {
    const int ns = ncols / 256;
    const uint8_t *s = src;
    uint8_t *d = dst;
    for (int g = 0; g < nrows / 8; g++)
        for (int b = 0; b < ns; b++) {
            uint8_t *out = d + ((size_t)g * ns + b) * CK_Q6_K_X8_BYTES;
            for (int r = 0; r < 8; r++) {
                const uint8_t *blk = s + (size_t)(8 * g + r) * row_bytes + 210 * (size_t)b;
                memcpy(out + 2 * r, blk + 208, 2);
                for (int j = 0; j < 16; j++) out[16 + 16 * (j / 2) + 2 * r + j % 2] = blk[192 + j];
                for (int j = 0; j < 16; j++)
                    for (int e = 0; e < 4; e++) {
                        uint8_t hi = 0;
                        for (int v = 0; v < 2; v++) {
                            const uint8_t lo = value(blk, 16 * j + 8 * v + e), up = value(blk, 16 * j + 8 * v + 4 + e);
                            out[144 + 64 * j + 32 * v + 4 * r + e] = (uint8_t)((lo & 0x0F) | ((up & 0x0F) << 4));
                            hi |= (uint8_t)(((lo >> 4) << (4 * v)) | ((up >> 4) << (4 * v + 2)));
                        }
                        out[1168 + 32 * j + 4 * r + e] = hi;
                    }
            }
        }
}

void ck_unrepack_q6_Kx8_row(const void *packed, int ncols, int r, void *row) {
    const int ns = ncols / 256, g = r / 8, k = r % 8;
    const uint8_t *p = packed;
    uint8_t *blk = row;
    for (int b = 0; b < ns; b++, blk += 210) {
        const uint8_t *in = p + ((size_t)g * ns + b) * CK_Q6_K_X8_BYTES;
        memcpy(blk + 208, in + 2 * k, 2);
        for (int j = 0; j < 16; j++) blk[192 + j] = in[16 + 16 * (j / 2) + 2 * k + j % 2];
        memset(blk, 0, 192);
        for (int j = 0; j < 16; j++)
            for (int e = 0; e < 4; e++) {
                const uint8_t hi = in[1168 + 32 * j + 4 * k + e];
                for (int v = 0; v < 2; v++) {
                    const uint8_t nib = in[144 + 64 * j + 32 * v + 4 * k + e];
                    const int idx[2] = {16 * j + 8 * v + e, 16 * j + 8 * v + 4 + e};
                    const uint8_t val[2] = {(uint8_t)((nib & 0x0F) | (((hi >> (4 * v)) & 3) << 4)),
                                            (uint8_t)((nib >> 4) | (((hi >> (4 * v + 2)) & 3) << 4))};
                    for (int t = 0; t < 2; t++) {
                        const int i = idx[t], n = i / 128, kk = (i % 128) / 32, l = i % 32;
                        blk[64 * n + 32 * (kk % 2) + l] |= (uint8_t)(kk < 2 ? (val[t] & 0x0F) : (val[t] & 0x0F) << 4);
                        blk[128 + 32 * n + l] |= (uint8_t)((val[t] >> 4) << (2 * kk));
                    }
                }
            }
    }
}
