// QuantCore: ggml block formats (see the files beside this one).
import KilnCore
