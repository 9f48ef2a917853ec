// Debian's libstb (apt: libstb-dev): the precompiled stb libraries with their unmodified headers. Kiln uses only
// stb_image, the decoder llama.cpp's libmtmd uses (mtmd-helper.cpp: stbi_load_from_memory(..., 3)).
#include <stb_image.h>
