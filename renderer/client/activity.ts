// When this page last used its console session. The appliance ends a session 15 minutes after its last
// use (main/ceremony/sign-in.ts) — any command it answered as the session's, except the background polls
// (`network.status`, `devices.list`: main/console/commands.ts marks them), which do not count as use. The
// console needs the same clock to warn before the end (components/SessionTimeout.vue), so the client
// provideClient hands out notes each use here.
import { ref } from 'vue';
import { CLIENT_ERROR, CommandError, type CommandInput, type CommandName, type CommandOutput, type ConsoleClient } from './types.js';

/** As main/console/commands.ts marks them `background`: polls that leave the session's idle clock alone. */
export const BACKGROUND = new Set<string>(['network.status', 'devices.list']);
/** Answers that were not the session's: no session (or it ended), or no answer at all. */
const UNUSED = new Set<string>(['AccessDenied', CLIENT_ERROR.unreachable]);

/** Date.now() of the page's last use of its session (0: none yet). */
export const lastUse = ref(0);

/** `client`, noting in `lastUse` each command the appliance answered as a use of the session. */
export function tracked(client: ConsoleClient): ConsoleClient {
  const note = (command: string) => {
    if (!BACKGROUND.has(command)) lastUse.value = Date.now();
  };
  return {
    ...client,
    transport: client.transport,
    hasSession: () => client.hasSession(),
    forgetSession: () => client.forgetSession(),
    async run<C extends CommandName>(command: C, input: CommandInput<C>): Promise<CommandOutput<C>> {
      try {
        const out = await client.run(command, input);
        note(command);
        return out;
      } catch (e) {
        if (e instanceof CommandError && !UNUSED.has(e.code)) note(command);
        throw e;
      }
    },
  };
}
