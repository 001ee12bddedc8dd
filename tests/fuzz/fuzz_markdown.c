/* fuzz_markdown.c - libFuzzer target for the Markdown extractor (checks: fuzz_extract.h). */
#include "fuzz_extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_extract(FORMAT_MARKDOWN, data, size);
}
