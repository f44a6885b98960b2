/**
 * A one-node SLURM cluster in a temporary folder, for the job-array test:
 * munged, slurmctld and slurmd run in the foreground as children of this
 * process, with their state, spool, logs and sockets under the folder, and
 * are stopped by their own pids.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const DAEMONS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scancel', 'sinfo', 'mungekey'];

/** Why a cluster cannot start here, or undefined when it can. */
export async function cannotRun(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'the SLURM test runs its own cluster as root (SlurmUser=root); run it as root';
  const missing = [];
  for (const tool of DAEMONS) {
    try {
      await run('sh', ['-c', `command -v ${tool}`]);
    } catch {
      missing.push(tool);
    }
  }
  if (missing.length) return `missing ${missing.join(', ')}: apt-get install slurm-wlm munge`;
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export class Cluster {
  private readonly children: ChildProcess[] = [];
  readonly env: NodeJS.ProcessEnv;

  private constructor(readonly dir: string, extraEnv: NodeJS.ProcessEnv) {
    this.env = { ...extraEnv, SLURM_CONF: path.join(dir, 'slurm.conf') };
  }

  static async start(dir: string, env: NodeJS.ProcessEnv, cpus: number): Promise<Cluster> {
    const cluster = new Cluster(dir, env);
    try {
      await cluster.boot(cpus);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  private async boot(cpus: number): Promise<void> {
    const d = this.dir;
    // munged refuses a socket in a folder others cannot reach (the folders above it must let them through too).
    mkdirSync(d, { recursive: true });
    chmodSync(d, 0o755);
    for (const sub of ['state', 'spool', 'log']) mkdirSync(path.join(d, sub), { recursive: true });
    await run('mungekey', ['--create', '--keyfile', path.join(d, 'munge.key')]);
    chmodSync(path.join(d, 'munge.key'), 0o600);
    const socket = path.join(d, 'munge.socket');
    this.daemon('munged', ['--foreground', '--force', `--socket=${socket}`, `--key-file=${path.join(d, 'munge.key')}`,
      `--log-file=${path.join(d, 'log/munged.log')}`, `--pid-file=${path.join(d, 'munged.pid')}`, `--seed-file=${path.join(d, 'munged.seed')}`]);
    const host = hostname();
    const [ctldPort, dPort] = [await freePort(), await freePort()];
    writeFileSync(path.join(d, 'slurm.conf'), [
      'ClusterName=samamg', `SlurmctldHost=${host}`, `SlurmctldPort=${ctldPort}`, `SlurmdPort=${dPort}`,
      'AuthType=auth/munge', `AuthInfo=socket=${socket}`, 'CredType=cred/munge',
      'SlurmUser=root', 'SlurmdUser=root',
      `StateSaveLocation=${d}/state`, `SlurmdSpoolDir=${d}/spool`,
      `SlurmctldPidFile=${d}/slurmctld.pid`, `SlurmdPidFile=${d}/slurmd.pid`,
      `SlurmctldLogFile=${d}/log/slurmctld.log`, `SlurmdLogFile=${d}/log/slurmd.log`,
      'ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/none', 'MpiDefault=none', 'ReturnToService=2',
      'SchedulerType=sched/backfill', 'SelectType=select/cons_tres', 'SelectTypeParameters=CR_Core',
      'JobCompType=jobcomp/none', 'AccountingStorageType=accounting_storage/none', 'JobAcctGatherType=jobacct_gather/none',
      'InactiveLimit=0', 'KillWait=30', 'SchedulerParameters=sched_interval=1',
      `NodeName=${host} CPUs=${cpus} State=UNKNOWN`,
      'PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP', '',
    ].join('\n'));
    await this.waitFor(async () => (await this.tryRun('munge', ['--socket', socket, '--no-input'])) !== undefined, 'munged to answer');
    this.daemon('slurmctld', ['-D', '-f', path.join(d, 'slurm.conf')]);
    this.daemon('slurmd', ['-D', '-f', path.join(d, 'slurm.conf')]);
    await this.waitFor(async () => /idle/.test((await this.tryRun('sinfo', ['-h', '-o', '%t'])) ?? ''), 'the node to be idle');
  }

  private daemon(command: string, args: string[]): void {
    const child = spawn(command, args, { stdio: 'ignore', env: this.env });
    child.on('error', () => {});
    this.children.push(child);
  }

  private async tryRun(command: string, args: string[]): Promise<string | undefined> {
    try {
      return (await run(command, args, { env: this.env })).stdout;
    } catch {
      return undefined;
    }
  }

  async waitFor(ready: () => Promise<boolean>, what: string, seconds = 60): Promise<void> {
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
      if (await ready()) return;
      if (this.children.some((c) => c.exitCode !== null)) {
        throw new Error(`a SLURM daemon exited while waiting for ${what}; see ${this.dir}/log`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}; see ${this.dir}/log`);
  }

  /** A SLURM command's stdout. */
  async slurm(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
    return (await run(command, args, { env: { ...this.env, ...env } })).stdout;
  }

  /** The state of each listed array task of `job` (`squeue -r`), by task id. */
  async tasks(job: string): Promise<Map<number, string>> {
    const out = (await this.tryRun('squeue', ['-h', '-r', '-j', job, '-o', '%K %T'])) ?? '';
    return new Map(out.trim().split('\n').filter(Boolean).map((l) => {
      const [id, state] = l.trim().split(/\s+/);
      return [Number(id), state];
    }));
  }

  /** Cancels every job, then stops the daemons by their pids; returns the pids that were still alive after. */
  async stop(): Promise<number[]> {
    if (this.children.length > 2) {
      await this.tryRun('scancel', ['--user', 'root']);
      // Jobs run under slurmstepd, outside this process: they must be gone before the daemons go.
      await this.waitFor(async () => ((await this.tryRun('squeue', ['-h'])) ?? '').trim() === '', 'cancelled jobs to end', 60).catch(() => {});
    }
    for (const child of [...this.children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const late = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(late);
    }
    return this.children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => c.pid!);
  }
}
