// dashboard-client.d.ts — the types of dashboard-client.js and of the contract it speaks: the
// client, its options and events, and every server message and payload (SPEC §1 and §2).

/** An event id: decimal digits, compared as BigInt (ids may pass 2^53). */
export type EventId = string;
/** A task's id as the producer sent it: a number or a string. */
export type TaskId = number | string;
/** A task as the producer sent it: the gateway passes its fields through. */
export interface Task {
  id: TaskId;
  title?: string;
  status?: boolean;
  priority?: string;
  [field: string]: unknown;
}

export type ErrorCode =
  | 'AUTH_INVALID' | 'AUTH_EXPIRED' | 'USER_NOT_FOUND' | 'CONNECTION_LIMIT' | 'RATE_LIMITED'
  | 'INVALID_MESSAGE' | 'SUBSCRIPTION_FAILED' | 'SLOW_CONSUMER' | 'IDLE_TIMEOUT' | 'INTERNAL_ERROR';

// --- payloads ------------------------------------------------------------------------------------

export interface ConnectionSuccessPayload {
  userId: TaskId;
  message: string;
  sessionId: string;
  /** Seconds between the server's pings (SSE: heartbeats). */
  heartbeatSec: number;
  /** false: history no longer reaches back to lastEventId; the client resyncs. */
  recovered: boolean;
}
export interface TaskUpdatePayload {
  taskId: TaskId;
  action: 'created' | 'updated' | 'deleted';
  task: Task;
}
/** A task update as the client's `task` event gives it: the payload and its event id. */
export interface TaskUpdate extends TaskUpdatePayload {
  id?: EventId;
}
export interface TaskBatchPayload {
  updates: Array<TaskUpdatePayload & { id: EventId }>;
}
export interface DashboardStats {
  totalTasks: number;
  completedTasks: number;
  pendingTasks: number;
  updatedAt: string;
}
export interface ConnectionStatusPayload {
  status: 'connected' | 'reconnecting' | 'disconnected';
  message: string;
}
export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  requestType?: string;
  retryAfterMs?: number;
}
export interface SubscriptionPayload {
  userId: TaskId;
}

// --- server messages -------------------------------------------------------------------------------

interface Envelope<T extends string, P> {
  type: T;
  payload: P;
  timestamp: string;
}
export type ServerMessage =
  | Envelope<'connection_success', ConnectionSuccessPayload>
  | (Envelope<'task_update', TaskUpdatePayload> & { id: EventId })
  | Envelope<'task_batch', TaskBatchPayload>
  | Envelope<'dashboard_update', DashboardStats>
  | Envelope<'connection_status', ConnectionStatusPayload>
  | Envelope<'error', ErrorPayload>
  | Envelope<'pong', Record<string, unknown>>
  | Envelope<'subscribed', SubscriptionPayload>
  | Envelope<'unsubscribed', SubscriptionPayload>;
export type ServerMessageType = ServerMessage['type'];

// --- the client ------------------------------------------------------------------------------------

export type ClientState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'stopped';
export type Transport = 'websocket' | 'sse';
/** solo: not sharing; leader: this tab holds the connection; follower: it hears the leader's. */
export type Role = 'solo' | 'leader' | 'follower';

export interface DashboardClientOptions {
  userId: string;
  token: string;
  /** ws:// or wss:// base of the gateway; default: this page's host. */
  url?: string;
  /** A fresh token for the same user, asked for before `exp` and after AUTH_EXPIRED. */
  refreshToken?: () => Promise<string | null> | string | null;
  /** Resume after this event id ('0': replay the history the server holds). */
  lastEventId?: EventId | null;
  batch?: boolean;
  share?: boolean;
  transports?: Transport[];
  wsFailuresBeforeSse?: number;
  wsRetryAfterMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  pingIntervalMs?: number;
  ackDelayMs?: number;
  ackEvery?: number;
  refreshLeadMs?: number;
  WebSocket?: typeof WebSocket;
  EventSource?: typeof EventSource;
}

export interface StateEvent {
  state: ClientState;
  detail?: { code: number; reason: string };
  transport: Transport | null;
  role: Role;
}
export interface DashboardClientEvents {
  state: StateEvent;
  connected: ConnectionSuccessPayload;
  dashboard: DashboardStats;
  task: TaskUpdate;
  status: ConnectionStatusPayload;
  error: ErrorPayload | { code: 'REFRESH_FAILED' | 'RESYNC_FAILED' | 'CATCH_UP_FAILED'; message: string };
  refreshed: { exp?: number; sub?: string; [claim: string]: unknown };
  closed: { code: number; reason: string };
  role: { role: Role };
  resync: { lastEventId: EventId | null; dashboard: DashboardStats & { lastEventId: EventId } };
}

export declare class DashboardClient {
  constructor(options: DashboardClientOptions);
  readonly state: ClientState;
  readonly role: Role;
  readonly transport: Transport | null;
  readonly lastEventId: EventId | null;
  on<E extends keyof DashboardClientEvents>(event: E, listener: (value: DashboardClientEvents[E]) => void): () => void;
  start(): void;
  stop(): void;
}

/** The claims of a JWT, not verified (the server verifies). */
export declare function decodeToken(token: string): { exp?: number; sub?: string; [claim: string]: unknown };
