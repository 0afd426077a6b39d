package api

// StartServer is startServer for the black-box tests.
var StartServer = startServer
