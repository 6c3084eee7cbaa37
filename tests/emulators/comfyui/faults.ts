/**
 * The ComfyUI emulator's misbehaviour on demand: slow steps and answers, a node that raises, a crash or dropped
 * WebSockets at a sampler step, refused upgrades, and the old error shape. Tests change the fields at any time.
 */
import type { EmulatedNode } from './validate.js';

/** Misbehaviour on demand. Fields can be changed at any time. */
export interface ComfyEmulatorFaults {
  stepMs: number;
  /** Delay before every HTTP answer. */
  latencyMs: number;
  errorShape: 'current' | '2024';
  /** Make a node raise during execution (matched by class or id). `once` clears the fault after it fires. */
  executionError?: { classType?: string; nodeId?: string; exceptionType?: string; message: string; once?: boolean };
  /** Crash (like `goDown`) when the running prompt reaches this sampler step. Fires once. */
  downAtStep?: number;
  /** Drop every WebSocket when the running prompt reaches this step, and refuse new ones. Fires once. */
  dropWsAtStep?: number;
  /** Refuse WebSocket upgrades (HTTP keeps working). */
  refuseWebSockets: boolean;
  /** Crash now: close every socket and stop listening (connections are refused); queue is lost. */
  goDown(): Promise<void>;
  /** Restart on the same port with empty queue and history (files stay, like a disk). */
  comeBack(): Promise<void>;
  /** Terminate every WebSocket now. */
  dropWebSockets(): void;
}

/** What the faults act on: the server (down and back) and its WebSockets. */
export interface FaultActions {
  goDown(): Promise<void>;
  comeBack(): Promise<void>;
  dropWebSockets(): void;
}

export function createFaults(opts: { stepMs?: number | undefined; errorShape?: 'current' | '2024' | undefined }, actions: FaultActions): ComfyEmulatorFaults {
  return {
    stepMs: opts.stepMs ?? 5,
    latencyMs: 0,
    errorShape: opts.errorShape ?? 'current',
    refuseWebSockets: false,
    goDown: () => actions.goDown(),
    comeBack: () => actions.comeBack(),
    dropWebSockets: () => actions.dropWebSockets(),
  };
}

/** Whether the execution-error fault is aimed at this node (by id, else by class). */
export function faultHits(faults: ComfyEmulatorFaults, id: string, node: EmulatedNode): boolean {
  const f = faults.executionError;
  return !!f && (f.nodeId === id || (f.nodeId === undefined && f.classType === node.class_type));
}
