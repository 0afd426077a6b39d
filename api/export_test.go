package api

// StartServer is startServer for the black-box tests.
var StartServer = startServer

// NewKZGModuleMax is NewKZGModule refusing data over maxData bytes, so
// that the refusal can be tested through the server with a small request.
var NewKZGModuleMax = newKZGModule
