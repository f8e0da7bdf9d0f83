/* libfuzzer_main.c — the libFuzzer entry point of one harness: built once per harness with
 * -DFUZZ_ENTRY=fuzz_<name> (tests/fuzz/CMakeLists.txt). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return FUZZ_ENTRY(data, size);
}
