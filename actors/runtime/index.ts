/** The actor runtime's public surface (see actors/README.md). */
export type { ActorBehaviour, ActorContext, Handler } from './actor.ts';
export { ActorDefinition, defineActor } from './actor.ts';
export type { ActorAddress } from './address.ts';
export {
  actorSubject,
  decodeId,
  encodeId,
  formatAddress,
  kindWildcard,
  parseAddress,
  parseSubject,
} from './address.ts';
export type { AskOptions, SendOptions } from './client.ts';
export { ActorClient, DEFAULT_ASK_TIMEOUT_MS } from './client.ts';
export type { ActorEvent, ActorEventListener, FailurePhase, HostStats } from './events.ts';
export type { ActorHostOptions } from './host.ts';
export {
  ActorHost,
  DEFAULT_IDLE_AFTER_MS,
  DEFAULT_SWEEP_INTERVAL_MS,
  SHUTDOWN_DEACTIVATE_CONCURRENCY,
} from './host.ts';
export { DEFAULT_MAILBOX_LIMIT, Mailbox } from './mailbox.ts';
export type { AskType } from './protocol.ts';
export { defineAsk } from './protocol.ts';
export type { RestartPolicy } from './supervisor.ts';
export { DEFAULT_MAX_RESTARTS, DEFAULT_RESTART_WINDOW_MS, isCrash } from './supervisor.ts';
