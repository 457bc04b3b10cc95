/** The client commands' part of `engram help` (cli/client-commands.ts runs them): usage and what it does. */
export const CLIENT_COMMANDS: ReadonlyArray<readonly [string, string]> = [
  ['engram put CONTEXT TEXT [--agent A] [--type T] [--payload JSON]', 'write a unit'],
  ['engram get CONTEXT [--limit N] | get --id UNIT', 'the last units of a context, or one unit'],
  ['engram tail CONTEXT [-f] [--since SEQ] [--agent A]', 'units of a context; -f follows live (resumes after drops), present as agent A'],
  ['engram presence CONTEXT', 'who is subscribed to a context: client, agent, connections, since'],
  ['engram delete CONTEXT --yes', 'delete a context for good (its units, keys, search entries, memory)'],
  ['engram search QUERY [--context C] [--mode hybrid|keyword|vector] [--limit N]', ''],
  ['engram lock RESOURCE --agent A [--ttl MS] [--wait MS]', 'take a lock; prints its lockId and token'],
  ['engram unlock RESOURCE --agent A --lock-id ID', 'release it'],
  ["engram memory SPACE 'COMMAND-JSON' [--agent A]", 'run one memory-tool command (docs/memory.md)'],
];

export const CLIENT_NOTES = `    common: [--data-dir DIR | --url URL] [--token T] [--client ID] [--json]
            [--ca FILE] [--cert FILE --key FILE]   (an https:// server's CA; a client certificate)
    (ENGRAM_DATA_DIR, ENGRAM_URL, ENGRAM_TOKEN, ENGRAM_CLIENT_ID, ENGRAM_CA_FILE,
     ENGRAM_CERT_FILE and ENGRAM_KEY_FILE work too)`;
