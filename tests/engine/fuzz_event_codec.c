/* libFuzzer target: arbitrary bytes into the stored event-definition decoder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dataplane/dp_codec.h"
#include "dataplane/dp_engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_event_def *def = NULL;
	char err[256];
	if (dp_event_def_decode(data, size, &def, err, sizeof(err)) == 0) {
		if (dp_event_def_check(def, err, sizeof(err)) != 0)
			abort(); /* the decoder promised a checked definition */
		void *blob;
		size_t len;
		if (dp_event_def_encode(def, &blob, &len) == 0)
			free(blob);
		dp_event_def_free(def);
	}
	return 0;
}
