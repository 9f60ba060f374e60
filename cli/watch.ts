// `cellc build --watch`: build once, then rebuild the specs whose text, or the text of any file
// they import, changed. Imports are re-resolved after every build (the compiler reports every file
// it read), so adding an import starts watching the new file. Errors, bad configs and deleted
// files are reported and the watch goes on; only Ctrl-C (or SIGTERM) ends it, with status 0.
//
// Directories are watched rather than files: editors often save by writing a temporary file and
// renaming it over the original, which a per-file watcher loses. Every event only schedules a
// re-scan; what gets rebuilt is decided by comparing file contents with what the compiler saw, so
// duplicate events, touched-but-unchanged files and our own output never cause a rebuild loop.

import { watch, type FSWatcher } from "node:fs";
import { dirname } from "node:path";
import { runBuild, readOrNull, plural, type BuildJob, type JobResult, type Output } from "./build.ts";
import { shownPath } from "./config.ts";

/** What to build right now and which places to watch besides the files the compiler read. */
export interface WatchPlan {
  jobs: BuildJob[];
  /** Directories to watch for new specs (the directories named on the command line). */
  dirs: string[];
  /** Files that change the plan itself (the config file). */
  files: string[];
}

/** How long to wait for a burst of file events to settle before rebuilding. */
const settleMs = 120;

export function watchBuild(makePlan: () => WatchPlan, io: Output): Promise<number> {
  return new Promise<number>((resolveWatch) => {
    const done = new Map<string, JobResult>();
    /** Output path -> the module that owns it, across rebuilds. */
    const claimed = new Map<string, string>();
    const release = (r: JobResult | undefined): void => {
      for (const f of r?.outputs ?? []) claimed.delete(f);
    };
    const watchers = new Map<string, FSWatcher>();
    let timer: NodeJS.Timeout | undefined;
    let building = false;
    let again = false;
    let stopped = false;

    const schedule = (): void => {
      if (stopped) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void cycle(false), settleMs);
    };

    const syncWatchers = (dirs: Set<string>): void => {
      for (const [dir, w] of watchers) {
        if (!dirs.has(dir)) {
          w.close();
          watchers.delete(dir);
        }
      }
      for (const dir of dirs) {
        if (watchers.has(dir)) continue;
        try {
          const w = watch(dir, { persistent: true }, schedule);
          w.on("error", () => {
            w.close();
            watchers.delete(dir); // re-added by the next cycle if the directory comes back
          });
          watchers.set(dir, w);
        } catch {
          // The directory is gone; its files show up as changed (unreadable) and are reported.
        }
      }
    };

    const cycle = async (first: boolean): Promise<void> => {
      if (stopped) return;
      if (building) {
        again = true;
        return;
      }
      building = true;
      try {
        await rebuild(first);
      } catch (e) {
        io.err(`cellc: internal error: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        building = false;
      }
      if (again && !stopped) {
        again = false;
        schedule();
      }
    };

    const rebuild = async (first: boolean): Promise<void> => {
      let plan: WatchPlan;
      try {
        plan = makePlan();
      } catch (e) {
        // A broken config or a vanished directory: say so, keep watching what we had.
        io.err(`cellc: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }

      const current = new Map(plan.jobs.map((j) => [jobKey(j), j] as const));
      const toBuild: BuildJob[] = [];
      const changed = new Set<string>();
      for (const [key, job] of current) {
        const prev = done.get(key);
        if (prev === undefined) {
          toBuild.push(job);
          if (!first) changed.add(job.origin ?? shownPath(job.spec)); // a new spec or config entry
          continue;
        }
        const diff = changedInputs(prev);
        if (diff.length > 0) {
          toBuild.push(job);
          for (const f of diff) changed.add(shownPath(f));
        }
      }
      const specsNow = new Set(plan.jobs.map((j) => j.spec));
      for (const [key, r] of [...done]) {
        if (current.has(key)) continue;
        release(r);
        done.delete(key);
        if (!specsNow.has(r.job.spec)) io.out(`${stamp()} no longer building ${shownPath(r.job.spec)}`);
      }
      if (toBuild.length > 0) {
        if (!first)
          io.out(`${stamp()} changed: ${[...changed].join(", ")}; rebuilding ${plural(toBuild.length, "spec")}`);
        for (const j of toBuild) release(done.get(jobKey(j)));
        const report = await runBuild(toBuild, io, claimed);
        for (const r of report.results) {
          // An import that has gone missing is absent from what the compiler read this time; keep
          // watching for it, so the spec is rebuilt when the file comes back.
          const prev = done.get(jobKey(r.job));
          if (prev)
            for (const f of prev.inputs.keys()) if (!r.inputs.has(f) && readOrNull(f) === null) r.inputs.set(f, null);
          done.set(jobKey(r.job), r);
        }
        const status =
          report.failed > 0
            ? `${plural(report.failed, "spec")} with errors`
            : report.cellMissing
              ? "cell not found"
              : "ok";
        io.out(`${stamp()} built ${plural(report.modules, "module")} in ${Math.round(report.ms)} ms (${status})`);
      }

      const dirs = new Set<string>(plan.dirs);
      for (const f of plan.files) dirs.add(dirname(f));
      for (const r of done.values()) for (const f of r.inputs.keys()) dirs.add(dirname(f));
      syncWatchers(dirs);
      if (first || toBuild.length > 0) {
        const files = new Set<string>(plan.files);
        for (const r of done.values()) for (const f of r.inputs.keys()) files.add(f);
        io.out(`watching ${plural(files.size, "file")} for changes (Ctrl-C to stop)`);
      }
    };

    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolveWatch(0);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);

    void cycle(true);
  });
}

/** The inputs of an earlier build whose text on disk is no longer what the compiler saw. */
function changedInputs(r: JobResult): string[] {
  const out: string[] = [];
  for (const [path, seen] of r.inputs) if (readOrNull(path) !== seen) out.push(path);
  return out;
}

/** Identity of a job: the same spec, sizes, output, options and origin. */
function jobKey(j: BuildJob): string {
  return `${j.spec}\n${JSON.stringify([j.bindings, j.out, j.cell ?? null, j.optimize, j.origin ?? null, j.target ?? null, j.threads ?? null, j.fma ?? null, j.format ?? null])}`;
}

function stamp(): string {
  return `[${new Date().toTimeString().slice(0, 8)}]`;
}
