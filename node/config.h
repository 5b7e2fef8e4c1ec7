/*
 * config.h - `nomid node --config FILE`: the node's settings from a JSON file.  The file
 * covers what the flags cover (keys in README, "Configuration"); each value is checked by
 * the flag's own validator, and a bad one is reported naming the file and the key.
 */
#ifndef NODE_CONFIG_H
#define NODE_CONFIG_H

#include "disc_opts.h"
#include "service.h"

/* Reads path into o and svcs[0..max) (*nsvcs set to how many).  Relative file names in
 * it are taken from the file's directory.  Strings o points at (interfaces, backend
 * URLs) live in this module's static storage for the life of the process, as argv's do.
 * Returns 0, or a negative errno-style code after logging a message naming the file and
 * the key (the command exits 2). */
int node_config_load(const char *path, disc_opts *o, node_service *svcs, int *nsvcs, int max);

#endif /* NODE_CONFIG_H */
