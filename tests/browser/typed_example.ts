// typed_example.ts — the reference client as a TypeScript app uses it, checked with
// `tsc --noEmit --strict` (the "browser: the client's types" test). Never run: only typed.
import { DashboardClient, type ServerMessage, type TaskUpdate } from '../../web/dashboard-client.js';

const client = new DashboardClient({ userId: '42', token: 'a.jwt.token', transports: ['websocket', 'sse'] });
const tasks = new Map<string, TaskUpdate>();

client.on('task', (update) => {
  if (update.action === 'deleted') tasks.delete(String(update.taskId));
  else tasks.set(String(update.taskId), update);
});
client.on('dashboard', (stats) => console.log(stats.totalTasks - stats.completedTasks === stats.pendingTasks));
client.on('state', ({ state, transport, role }) => console.log(state, transport ?? 'none', role));
client.on('error', (e) => console.log(e.code, e.message));
client.on('resync', ({ dashboard }) => console.log(dashboard.lastEventId));
client.start();

// Every server message the contract defines narrows by its type.
function describe(message: ServerMessage): string {
  switch (message.type) {
    case 'task_update': return `${message.id}: ${message.payload.action} ${message.payload.taskId}`;
    case 'task_batch': return `${message.payload.updates.length} updates, last ${message.payload.updates.at(-1)?.id}`;
    case 'dashboard_update': return `${message.payload.completedTasks}/${message.payload.totalTasks}`;
    case 'connection_success': return `session ${message.payload.sessionId}, recovered ${message.payload.recovered}`;
    case 'connection_status': return message.payload.status;
    case 'error': return message.payload.code;
    case 'pong': case 'subscribed': case 'unsubscribed': return message.type;
  }
}
console.log(describe({ type: 'connection_status', payload: { status: 'connected', message: '' }, timestamp: '' }));

// A message the contract does not define is a type error...
// @ts-expect-error
describe({ type: 'task_deleted', payload: {}, timestamp: '' });
// ...and so is an error code it does not define, or an event the client does not emit.
// @ts-expect-error
describe({ type: 'error', payload: { code: 'TEAPOT', message: '' }, timestamp: '' });
// @ts-expect-error
client.on('message', () => {});
