"""Services: the rules behind every surface, each given only what it needs (config, store,
clock, other services), never the App. The evaluation service lives here
(``services.evaluations``); the gate, changes and records services sit next to their rules
(``gate``, ``changes``, ``exclusions``). ``app.App`` wires them together."""
