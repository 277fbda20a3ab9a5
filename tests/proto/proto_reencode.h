/* proto_reencode.h - see proto_reencode.c. */
#ifndef STAMPEDE_TESTS_PROTO_REENCODE_H
#define STAMPEDE_TESTS_PROTO_REENCODE_H

#include "dataplane/dp_proto.h"

/* Re-encode a decoded request with the public encoders: 0, or -1 (full). */
int t_reencode_msg(const struct proto_msg *m, struct proto_buf *b);
/* Re-encode a decoded reply with begin/put/end: 0, or -1 (full). */
int t_reencode_reply(const struct proto_reply *r, struct proto_buf *b);

#endif
