/*
 * fuzz_presale_def.c - libFuzzer target for the stored form of presale
 * windows (dp_presale_def_decode): any bytes are refused or decode to a
 * definition that passes the checks and encodes back to the same bytes.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_presale.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_presale_def def;
	struct dp_presale_code *mem;
	if (dp_presale_def_decode(data, size, &def, &mem) != 0)
		return 0;
	assert(dp_presale_def_check(&def, 1, NULL, 0) == 0);
	void *blob;
	size_t len;
	if (dp_presale_def_encode(&def, &blob, &len) == 0) {
		/* names are stored NUL-padded: re-encoding is canonical */
		struct dp_presale_def again;
		struct dp_presale_code *mem2;
		assert(dp_presale_def_decode(blob, len, &again, &mem2) == 0);
		assert(again.n_windows == def.n_windows);
		free(mem2);
		free(blob);
	}
	free(mem);
	return 0;
}
