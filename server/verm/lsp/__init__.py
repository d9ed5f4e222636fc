"""The verm language server (pygls 2.x over stdio): visual diagnostics, hover, code actions."""
