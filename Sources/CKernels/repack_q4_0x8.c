#include "ckernels.h"
#include <string.h>

// The interleaved Q4_0 layout of ck_repack_q4_0x8 (see ckernels.h). One group-block holds block i of eight
// consecutive rows in the 144 bytes those eight 18-byte blocks take:
//   bytes 0..15    the eight rows' half scales d, row 0 first;
//   bytes 16..143  four 32-byte vectors; in vector v, byte 4·r + e (row r < 8, e < 4) holds element 8v + e of row r
//                  in its low nibble and element 8v + 4 + e in its high nibble (the stored 0..15 values, offset kept).
// So one vector's low nibbles are elements 8v..8v+3 of all eight rows, side by side: a multiply-add against those
// four activation bytes broadcast to every row gives each row's partial sum in its own lane, with no horizontal sums.
// Element e of a ggml block_q4_0 is qs[e] & 15 for e < 16 and qs[e − 16] >> 4 above.

static inline uint8_t q4_0_value(const uint8_t *qs, int e) { return e < 16 ? (qs[e] & 0x0F) : (qs[e - 16] >> 4); }

void ck_repack_q4_0x8(const void *src, size_t row_bytes, int nrows, int ncols, void *dst) {
    const int nb = ncols / 32;
    const uint8_t *s = src;
    uint8_t *d = dst;
    for (int g = 0; g < nrows / 8; g++)
        for (int i = 0; i < nb; i++) {
            uint8_t *out = d + ((size_t)g * nb + i) * CK_Q4_0_X8_BYTES;
            for (int r = 0; r < 8; r++) {
                const uint8_t *blk = s + (size_t)(8 * g + r) * row_bytes + 18 * (size_t)i;
                memcpy(out + 2 * r, blk, 2);
                for (int v = 0; v < 4; v++)
                    for (int e = 0; e < 4; e++)
                        out[16 + 32 * v + 4 * r + e] = (uint8_t)(q4_0_value(blk + 2, 8 * v + e) | (q4_0_value(blk + 2, 8 * v + 4 + e) << 4));
            }
        }
}

void ck_unrepack_q4_0x8_row(const void *packed, int ncols, int r, void *row) {
    const int nb = ncols / 32, g = r / 8, k = r % 8;
    const uint8_t *p = packed;
    uint8_t *blk = row;
    for (int i = 0; i < nb; i++, blk += 18) {
        const uint8_t *in = p + ((size_t)g * nb + i) * CK_Q4_0_X8_BYTES;
        memcpy(blk, in + 2 * k, 2);
        uint8_t v32[32];
        for (int v = 0; v < 4; v++)
            for (int e = 0; e < 4; e++) {
                const uint8_t b = in[16 + 32 * v + 4 * k + e];
                v32[8 * v + e] = b & 0x0F;
                v32[8 * v + 4 + e] = b >> 4;
            }
        for (int j = 0; j < 16; j++) blk[2 + j] = (uint8_t)(v32[j] | (v32[j + 16] << 4));
    }
}
