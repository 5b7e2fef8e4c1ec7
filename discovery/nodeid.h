/*
 * nodeid.h - a node id (16 bytes) as text: 32 lowercase hex digits, as `nomid peers`,
 * etcd keys and DNS-SD TXT records show it.
 */
#ifndef NMD_NODEID_H
#define NMD_NODEID_H

#include <stddef.h>
#include <stdint.h>

/* Writes id as 32 lowercase hex digits and a NUL. */
void nmd_id_hex(const uint8_t id[16], char out[33]);
/* Reads an id from exactly 32 hex digits (either case) hex[0..len).  0 or -EINVAL. */
int nmd_id_from_hex(const char *hex, size_t len, uint8_t id[16]);

#endif
