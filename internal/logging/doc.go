// Package logging is the node's slog handler: text or JSON records with a
// log level per module.
//
// A record's module is the value of its "service" attribute (nodebuilder
// hands each service logger.With("service", name)) or, when it has none,
// of its "module" attribute (the consensus engine's convention). Levels
// (ParseLevels) give a default level and per-module overrides, so that
// "info,das=debug,shrex=error" shows the DASer's debug records, only the
// errors of shrex and everything else from info up.
//
// The handler decides cheaply: a logger bound to a module
// (logger.With("service", "das")) is asked Enabled with that module's
// level, so a dropped record is never formatted. Only a module given as an
// attribute of the record itself, not bound with With, is looked up in
// Handle. Writes are serialised: one Write per record on the writer, safe
// for concurrent use by every logger derived from the handler.
//
// Levels can change at run time (the API's node.LogLevelSet): a handler
// made by NewVarHandler reads a LevelVar, whose SetModule changes one
// module's level, or every module's, for every logger derived from the
// handler.
package logging
