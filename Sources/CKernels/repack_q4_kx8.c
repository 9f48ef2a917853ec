#include "ckernels.h"
#include <string.h>

// The interleaved Q4_K layout of ck_repack_q4_Kx8 (see ckernels.h). One group-super-block holds super-block s of eight
// consecutive rows (CK_Q4_K_X8_BYTES bytes, 32 more than the eight 144-byte blocks):
//   bytes 0..15      the rows' half d, row 0 first;   bytes 16..31  their half dmin;
//   bytes 32..95     the 6-bit scales: byte 32 + 8j + r is sub-block j's scale in row r;
//   bytes 96..159    the 6-bit mins in pairs of sub-blocks: bytes 96 + 16p + 2r + t hold row r's min of sub-block 2p + t
//                    (so widened to int16 they are madd factors against the activations' sums of those sub-blocks);
//   bytes 160..1183  sub-block j (elements 32j..32j+31) in 128 bytes at 160 + 128j: four 32-byte vectors, in vector v
//                    byte 4r + e holds element 8v + e of the sub-block (row r) in its low nibble, 8v + 4 + e in its high.
// Element 32j + e of a ggml block_q4_K is the low nibble of qs[32(j/2) + e] for even j, the high nibble for odd j;
// scales and mins are get_scale_min_k4's (ggml-quants.c).

static void scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) { *sc = q[j] & 63; *m = q[j + 4] & 63; }
    else { *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4)); *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4)); }
}

static uint8_t element(const uint8_t *qs, int i) {  // i < 256
    const int j = i / 32, e = i % 32;
    const uint8_t b = qs[32 * (j / 2) + e];
    return j % 2 ? b >> 4 : b & 0x0F;
}

void ck_repack_q4_Kx8(const void *src, size_t row_bytes, int nrows, int ncols, void *dst) {
    const int ns = ncols / 256;
    const uint8_t *s = src;
    uint8_t *d = dst;
    for (int g = 0; g < nrows / 8; g++)
        for (int b = 0; b < ns; b++) {
            uint8_t *out = d + ((size_t)g * ns + b) * CK_Q4_K_X8_BYTES;
            for (int r = 0; r < 8; r++) {
                const uint8_t *blk = s + (size_t)(8 * g + r) * row_bytes + 144 * (size_t)b, *qs = blk + 16;
                memcpy(out + 2 * r, blk, 2);
                memcpy(out + 16 + 2 * r, blk + 2, 2);
                for (int j = 0; j < 8; j++) scale_min(j, blk + 4, out + 32 + 8 * j + r, out + 96 + 16 * (j / 2) + 2 * r + j % 2);
                for (int j = 0; j < 8; j++)
                    for (int v = 0; v < 4; v++)
                        for (int e = 0; e < 4; e++)
                            out[160 + 128 * j + 32 * v + 4 * r + e] =
                                (uint8_t)(element(qs, 32 * j + 8 * v + e) | (element(qs, 32 * j + 8 * v + 4 + e) << 4));
            }
        }
}

void ck_unrepack_q4_Kx8_row(const void *packed, int ncols, int r, void *row) {
    const int ns = ncols / 256, g = r / 8, k = r % 8;
    const uint8_t *p = packed;
    uint8_t *blk = row;
    for (int b = 0; b < ns; b++, blk += 144) {
        const uint8_t *in = p + ((size_t)g * ns + b) * CK_Q4_K_X8_BYTES;
        memcpy(blk, in + 2 * k, 2);
        memcpy(blk + 2, in + 16 + 2 * k, 2);
        uint8_t sc[8], m[8];
        for (int j = 0; j < 8; j++) { sc[j] = in[32 + 8 * j + k]; m[j] = in[96 + 16 * (j / 2) + 2 * k + j % 2]; }
        uint8_t *q = blk + 4;
        for (int j = 0; j < 4; j++) {
            q[j] = (uint8_t)((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
            q[j + 4] = (uint8_t)((m[j] & 63) | ((m[j + 4] >> 4) << 6));
            q[j + 8] = (uint8_t)((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
        }
        uint8_t *qs = blk + 16;
        memset(qs, 0, 128);
        for (int j = 0; j < 8; j++)
            for (int v = 0; v < 4; v++)
                for (int e = 0; e < 4; e++) {
                    const uint8_t x = in[160 + 128 * j + 32 * v + 4 * k + e];
                    const int lo = 8 * v + e, hi = 8 * v + 4 + e;   // elements of sub-block j
                    qs[32 * (j / 2) + lo] |= (uint8_t)(j % 2 ? (x & 0x0F) << 4 : (x & 0x0F));
                    qs[32 * (j / 2) + hi] |= (uint8_t)(j % 2 ? (x >> 4) << 4 : (x >> 4));
                }
    }
}
