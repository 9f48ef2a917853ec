/// `llama_ftype` (include/llama.h; gguf-py `LlamaFileType`): what `general.file_type` says the file mostly holds.
/// Only the values Kiln writes or recognizes; the raw values are llama.h's.
public enum LlamaFileType: UInt32, Sendable, CaseIterable {
    case allF32 = 0
    case mostlyF16 = 1
    case mostlyQ4_0 = 2
    case mostlyQ4_1 = 3
    case mostlyQ8_0 = 7
    case mostlyQ5_0 = 8
    case mostlyQ5_1 = 9
    case mostlyQ2_K = 10
    case mostlyQ3_K_S = 11
    case mostlyQ3_K_M = 12
    case mostlyQ3_K_L = 13
    case mostlyQ4_K_S = 14
    case mostlyQ4_K_M = 15
    case mostlyQ5_K_S = 16
    case mostlyQ5_K_M = 17
    case mostlyQ6_K = 18
    case mostlyBF16 = 32
    /// `LLAMA_FTYPE_GUESSED`: not specified in the model file.
    case guessed = 1024
}
