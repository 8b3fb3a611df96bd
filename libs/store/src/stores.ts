import type {
  AbuseStore,
  CaptureStore,
  ConnectionDirectory,
  DialogStore,
  EdgeRegistry,
  LocationStore,
  NonceStore,
  RecordStore,
  UserTable,
} from './ports.js';

/** Every port of the store, as services wire them. */
export interface Stores {
  records: RecordStore;
  locations: LocationStore;
  connections: ConnectionDirectory;
  edges: EdgeRegistry;
  nonces: NonceStore;
  users: UserTable;
  /** The live dialogs (dialog-stateful tracking, for operators and the active-dialog gauge). */
  dialogs: DialogStore;
  /** Captured messages of recent calls (the call-flow page). */
  captures: CaptureStore;
  /** Request and failure counters and the ban list (pike / fail2ban, fleet-wide). */
  abuse: AbuseStore;
  /** Closes connections (Redis) or drops the data (memory). */
  close(): Promise<void>;
}
