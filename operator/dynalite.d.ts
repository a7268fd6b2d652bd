// dynalite ships no types; the operator's tests use it as a DynamoDB-compatible stand-in.
declare module 'dynalite' {
  import type { Server } from 'node:http';
  export default function dynalite(opts?: {
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    path?: string;
  }): Server;
}
