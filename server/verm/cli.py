"""``verm``: check sources against their pinned references, render them, pin references.

Exit status (DESIGN.md): 0 every source visually equivalent; 1 discrepancies or a failed render;
2 usage or configuration error (message on stderr).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from verm import __version__
from verm.check import Checker, CheckResult, CriticError, NotPinnedError
from verm.config import CRITICS, ConfigError, Notice
from verm.critic.model.flags import add_model_flags, given_model_flags
from verm.outcome import Outcome
from verm.pins import (
    BadReferenceError,
    OutsideWorkspaceError,
    PinExistsError,
    atomic_write,
    confine,
    default_pin_target,
    pin_render,
    png_bytes,
    project_root,
)
from verm.report import github_lines, json_line, sarif, summary, text_lines, totals_line
from verm.source import SUFFIX_KINDS, SourceError
from verm.viewer.report_site import report_dir_argument

EXIT_OK, EXIT_DISCREPANCIES, EXIT_USAGE = 0, 1, 2
# Pages and tables a check must have for each Chromium beyond the first: starting one (its
# Playwright driver, launch, first page, close) costs ~1.8 s of CPU, what ~13 pages take to
# render (~0.14 s each), which a busy machine pays in wall time too.
PAGES_PER_BROWSER = 16
PAGE_KINDS = ("html", "table")
OUTSIDE_HINT = "if you mean it, pass --allow-outside"
SKIP_DIRS = {".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".verm",
             "build", "dist", "site-packages"}


class UsageError(Exception):
    pass


def _err(message: str) -> None:
    print(f"verm: {message}", file=sys.stderr)


class Warnings:
    """Workspace settings verm ignored or lowered, printed once each on stderr."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def show(self, notices: list[Notice]) -> None:
        for notice in notices:
            if notice.message not in self.seen:
                self.seen.add(notice.message)
                print(f"verm: warning: {notice.message}", file=sys.stderr)


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    """The user's settings from the command line (they outrank the config files): render
    settings and the model critics'."""
    out: dict[str, object] = {key: getattr(args, key) for key in ("chromium", "timeout", "memory")
                              if getattr(args, key, None) is not None}
    return {**out, **given_model_flags(args)}


def _checker(args: argparse.Namespace, critic: str | None = None,
             jobs: int | None = None) -> Checker:
    """``jobs``: the most renders at once (each its own sandbox child or Chromium). The CLI's
    renders come back to back, so its workers do not re-warm between them."""
    from verm.render import Renderers

    return Checker(critic=critic, overrides=_overrides(args),
                   renderers=Renderers(jobs, batch=True))


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if Path(name).suffix.lower() in SUFFIX_KINDS:
                yield Path(root) / name


def _pinned(checker: Checker, path: Path, reference: Path | None) -> bool:
    try:
        return checker.pin_of(checker.load(path), reference) is not None
    except SourceError:
        return False


def discover(paths: list[Path], checker: Checker, reference: Path | None,
             pinned_only: bool = False) -> list[Path]:
    """Named files as given; folders expanded to the pinned sources below them.
    ``pinned_only`` (a pre-commit hook's staged files): named files too only when a reference
    is pinned for them, and no complaint when none is."""
    found: list[Path] = []
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or directory")
        if path.is_file():
            if not pinned_only or (path.suffix.lower() in SUFFIX_KINDS
                                   and _pinned(checker, path, reference)):
                found.append(path)
            continue
        if not path.is_dir():
            raise UsageError(f"{path}: not a source file or folder (a device, pipe or socket)")
        pinned = [candidate for candidate in _walk(path)
                  if _pinned(checker, candidate, reference)]
        if not pinned and not pinned_only:
            raise UsageError(
                f"{path}: no pinned sources below this folder (pin one with `verm pin FILE`, a "
                f"`verm: reference=...` pragma, [tool.verm.references], or a sibling "
                f"<stem>.ref.png)")
        found.extend(pinned)
    return found


class Progress:
    """A one-line progress bar on stderr, only when it is a terminal and there is work to show."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.enabled = total > 1 and sys.stderr.isatty()

    def step(self, i: int, label: str) -> None:
        if self.enabled:
            width = 24
            done = int(width * i / self.total)
            bar = "#" * done + "-" * (width - done)
            sys.stderr.write(f"\r[{bar}] {i}/{self.total} {label[:50]:<50}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 90 + "\r")
            sys.stderr.flush()


CHECK_ERRORS = (SourceError, NotPinnedError, BadReferenceError, ConfigError, CriticError,
                ValueError)


def _check_one(checker: Checker, path: Path, reference: Path | None
               ) -> CheckResult | Exception:
    try:
        return checker.check(checker.load(path), reference)
    except CHECK_ERRORS as exc:
        return exc


def _jobs(args: argparse.Namespace) -> int:
    """``--jobs``, else the machine's cores."""
    return max(1, getattr(args, "jobs", None) or os.cpu_count() or 1)


AHEAD = 4  # sources judged ahead of the output, per job: their results wait to be printed


def _judged(checker: Checker, sources: list[Path], args: argparse.Namespace,
            after: Callable[[int, Path, CheckResult | Exception], None] | None = None,
            ) -> Iterator[tuple[Path, CheckResult | Exception]]:
    """Each source's judgement, in the order given. ``--jobs`` sources are judged at once
    (default: the machine's cores) — renders run in forked sandbox children and in a Chromium
    each, so threads over one Checker use the cores — and the output stays in order, at most
    ``AHEAD`` sources a job ahead of it (memory stays bounded however many sources there are).
    ``after(position, path, judgement)`` runs on the thread that judged it, as soon as it is
    judged (the report's pictures, the diff images: encoded in parallel too). A remote critic
    spends most of its time waiting for the server: up to the user's ``remote-concurrency``
    sources at once, of which still only ``--jobs`` render at once. Pages and tables mostly wait
    on Chromium: past one job, two a job are judged at once (charts and icons still render
    ``--jobs`` at once)."""
    jobs = max(1, min(len(sources), _jobs(args)))
    if jobs > 1 and any(SUFFIX_KINDS.get(p.suffix.lower()) in PAGE_KINDS for p in sources):
        jobs = min(len(sources), max(jobs, checker.renderers.pages_at_once))  # pages wait more
    if len(sources) > 1 and args.critic in ("remote", "ensemble"):
        with contextlib.suppress(ConfigError):
            settings = checker.model_settings()
            if args.critic == "remote" or (settings.endpoints and not settings.model):
                jobs = min(len(sources), settings.remote_concurrency)

    def judge(position: int, path: Path) -> CheckResult | Exception:
        judgement = _check_one(checker, path, args.reference)
        if after is not None:
            after(position, path, judgement)
        return judgement

    if jobs == 1:
        for position, path in enumerate(sources):
            yield path, judge(position, path)
        return
    from concurrent.futures import Future, ThreadPoolExecutor

    queued = iter(enumerate(sources))
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="verm-check") as pool:
        pending: collections.deque[tuple[Path, Future[CheckResult | Exception]]] = (
            collections.deque((path, pool.submit(judge, position, path))
                              for position, path in itertools.islice(queued, jobs * AHEAD)))
        while pending:
            path, future = pending.popleft()
            following = next(queued, None)
            if following is not None:
                pending.append((following[1], pool.submit(judge, *following)))
            yield path, future.result()


def _positive_int(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return n


def _print_each(outcome: Outcome, fmt: str, cwd: Path, seconds: bool = False) -> None:
    """What a format prints as each source is judged (sarif and junit print at the end);
    ``seconds``: JSON with the time it took, when known (merged reports keep theirs)."""
    if fmt == "text":
        print("\n".join(text_lines(outcome, cwd)), flush=True)
    elif fmt == "json":
        print(json_line(outcome, cwd, seconds=seconds), flush=True)
    elif fmt == "github":
        print("\n".join(github_lines(outcome, cwd)), flush=True)


def _print_end(outcomes: list[Outcome], fmt: str, cwd: Path) -> None:
    if fmt == "sarif":
        print(json.dumps(sarif(outcomes, cwd), indent=2))
    elif fmt == "junit":
        from verm.junit import junit_xml

        print(junit_xml(outcomes, cwd))
    elif fmt == "text" and len(outcomes) > 1:
        print(totals_line(outcomes))


def _shard_of(sources: list[Path], args: argparse.Namespace, cwd: Path) -> list[Path]:
    from verm.shard import read_durations, select

    if args.shard is None:
        if args.shard_durations is not None:
            raise UsageError("--shard-durations balances shards: pass --shard I/N with it")
        return sources
    durations = read_durations(args.shard_durations) if args.shard_durations else None
    mine = select(sources, args.shard, cwd, durations)
    if not mine:
        _err(f"shard {args.shard.index}/{args.shard.count}: no sources to check (of "
             f"{len(sources)} in all)")
    return mine


def _shown(path: Path, cwd: Path) -> str:
    """A path as the reports show it: relative to ``cwd`` when below it."""
    try:
        return path.absolute().relative_to(cwd.absolute()).as_posix()
    except ValueError:
        return str(path)


def _write_json_report(target: Path, lines: list[str]) -> None:
    try:
        atomic_write(target, "".join(f"{line}\n" for line in lines).encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"--json-report {target}: cannot write ({exc.strerror})") from None


def cmd_check(args: argparse.Namespace) -> int:
    from verm.shard import ShardError
    from verm.viewer.report_site import Report, ReportError, Unchecked

    cwd = Path.cwd()
    status = EXIT_OK
    outcomes: list[Outcome] = []
    recorded: list[str] = []  # --json-report lines: each source's JSON, its time and index
    warnings = Warnings()
    with _checker(args, args.critic, jobs=_jobs(args)) as checker:
        try:
            every = discover(args.sources, checker, args.reference, args.pinned_only)
            sources = _shard_of(every, args, cwd)
        except (UsageError, ConfigError, ShardError) as exc:
            _err(str(exc))
            return EXIT_USAGE
        index = {path: i for i, path in reversed(list(enumerate(every)))}
        pages = sum(SUFFIX_KINDS.get(p.suffix.lower()) in PAGE_KINDS for p in sources)
        checker.renderers.browsers = 1 + pages // PAGES_PER_BROWSER
        if len(sources) > 1:  # workers start together while the first sources are read
            with contextlib.suppress(ConfigError):
                checker.prestart({kind for p in sources
                                  if (kind := SUFFIX_KINDS.get(p.suffix.lower()))})
        report: Report | None = None
        if args.report is not None:  # extra to the output, on pass too
            try:
                report = Report(args.report, checker, cwd)
            except ReportError as exc:
                _err(str(exc))
                status = EXIT_USAGE
        diff_targets: dict[Path, Path] = {}
        if args.diff_dir is not None:
            taken: set[Path] = set()
            diff_targets = {p: _diff_target(args.diff_dir, p, cwd, taken) for p in sources}

        def keep(position: int, path: Path, judged: CheckResult | Exception) -> None:
            """The pictures of a judged source, written by the thread that judged it."""
            if report is not None:
                report.add(position, Unchecked(path, str(judged))
                           if isinstance(judged, Exception) else judged, index[path])
            if path in diff_targets and not isinstance(judged, Exception):
                _write_diff(checker, judged, diff_targets[path])

        progress = Progress(len(sources))
        for i, (path, outcome) in enumerate(_judged(checker, sources, args, keep)):
            progress.step(i, str(path))
            if isinstance(outcome, Exception):
                exc = outcome
                progress.close()
                if isinstance(exc, ConfigError):  # say which workspace settings were ignored
                    with contextlib.suppress(Exception):
                        warnings.show(checker.notices(checker.load(path)))
                _err(str(exc))
                recorded.append(json.dumps({"source": _shown(path, cwd),
                                            "error": str(exc), "index": index[path]},
                                           ensure_ascii=False))
                status = EXIT_USAGE
                continue
            result = outcome
            shown = Outcome.of(result, cwd)
            outcomes.append(shown)
            line = json.loads(json_line(shown, cwd, seconds=True))
            recorded.append(json.dumps({**line, "index": index[path]}, ensure_ascii=False))
            warnings.show(result.notices)
            if result.critique is not None:
                warnings.show([Notice(f"{path}: {note}") for note in result.critique.notes])
            if not result.equivalent and status == EXIT_OK:
                status = EXIT_DISCREPANCIES
            progress.close()
            _print_each(shown, args.format, cwd)
        progress.close()
        if report is not None:
            try:
                page = report.finish(recorded)
                print(f"verm: report written to {page}", file=sys.stderr)
            except ReportError as exc:
                _err(str(exc))
                status = EXIT_USAGE
    _print_end(outcomes, args.format, cwd)
    if args.json_report is not None:
        try:
            _write_json_report(args.json_report, recorded)
        except UsageError as exc:
            _err(str(exc))
            return EXIT_USAGE
    return status


def cmd_merge_reports(args: argparse.Namespace) -> int:
    """Print the shards' results as the unsharded `verm check` would have, with its exit
    status: 2 when a report is unreadable or a shard could not check a source, else 1 when a
    source is not equivalent, else 0."""
    from verm.merge import ReportError, merge

    cwd = Path.cwd()
    if args.report is not None:
        files = [path for path in args.reports if not path.is_dir()]
        if files:
            _err(f"--report combines the report folders of `verm check --report DIR` runs "
                 f"(their pictures); {files[0]} is not one: pass the shards' --report folders")
            return EXIT_USAGE
    try:
        merged = merge(args.reports)
    except ReportError as exc:
        _err(str(exc))
        return EXIT_USAGE
    for source in dict.fromkeys(merged.duplicates):
        _err(f"warning: {source} is in more than one report (overlapping shards?); "
             f"keeping the first")
    for outcome in merged.outcomes:
        _print_each(outcome, args.format, cwd, seconds=True)
    _print_end(merged.outcomes, args.format, cwd)
    for failed in merged.failed:
        _err(failed.error)
    if args.report is not None:
        from verm.viewer.report_site import ReportError as SiteError
        from verm.viewer.report_site import merge_sites

        try:
            page = merge_sites(args.report, args.reports,
                               lambda e: merged.order(e["source"], e.get("index")),
                               merged.lines)
            print(f"verm: report written to {page}", file=sys.stderr)
        except SiteError as exc:
            _err(str(exc))
            return EXIT_USAGE
    if merged.failed:
        return EXIT_USAGE
    return EXIT_OK if all(o.equivalent for o in merged.outcomes) else EXIT_DISCREPANCIES


def _diff_target(folder: Path, source: Path, cwd: Path, taken: set[Path]) -> Path:
    """``DIR/<path below cwd>/<stem>.diff.png``: sources that share a stem in different folders
    (or as ``chart.py`` and ``chart.svg``) never overwrite each other's diff."""
    try:
        rel = source.absolute().relative_to(cwd.absolute())
    except ValueError:
        rel = Path(source.absolute().as_posix().lstrip("/"))
    rel = Path(*[part for part in rel.parts if part not in ("..", ".")])
    target = folder / rel.parent / f"{rel.stem}.diff.png"
    if target in taken:
        target = folder / rel.parent / f"{rel.name}.diff.png"
    taken.add(target)
    return target


def _write_diff(checker: Checker, result: CheckResult, target: Path) -> None:
    from verm.critic.diffimage import diff_image

    if not result.render.ok or result.critique is None:
        return
    image = diff_image(checker.reference(result.pin), result.render, result.critique)
    atomic_write(target, png_bytes(image))


def cmd_render(args: argparse.Namespace) -> int:
    with _checker(args) as checker:
        try:
            source = checker.load(args.source)
            Warnings().show(checker.notices(source))
            render = checker.render(source)
        except (SourceError, ConfigError) as exc:
            _err(str(exc))
            return EXIT_USAGE
        if not render.ok:
            f = render.failure
            assert f is not None
            print(f"{args.source}:{f.range.start.line + 1}:{f.range.start.character + 1}: "
                  f"error render: {f.message}", file=sys.stderr)
            if f.detail:
                print(f.detail.rstrip(), file=sys.stderr)
            return EXIT_DISCREPANCIES
        assert render.image is not None
        atomic_write(args.output, png_bytes(render.image))
        if args.anchors is not None:
            data = [a.to_json() for a in render.anchors]
            atomic_write(args.anchors, json.dumps(data, indent=1).encode())
        w, h = render.image.size
        print(f"{args.output}: {w}×{h} {render.kind} render, {len(render.anchors)} anchors, "
              f"{render.elapsed_ms:.0f} ms", file=sys.stderr)
    return EXIT_OK


def _pin_one(checker: Checker, path: Path, args: argparse.Namespace, force: bool,
             warnings: Warnings) -> int:
    """Render ``path`` and write it as its reference, under plain `verm pin`'s rules: the
    resolved pin (else the sibling), inside the workspace unless --allow-outside, never over an
    existing reference unless ``force``. Returns the exit status of this one source."""
    try:
        source = checker.load(path)
        config = checker.config_for(source.path)
        warnings.show(checker.notices(source))
        if args.reference:  # the user named it: write there, wherever it is
            target, within, why = args.reference.absolute(), [], ""
        else:
            pin = default_pin_target(source, config)
            target, why = pin.path, pin.describe()
            within = [] if args.allow_outside else [project_root(source.path)]
            if within:
                confine(target, within, why)  # before the render: fail fast
        render = checker.render(source)
        if not render.ok:
            f = render.failure
            assert f is not None
            _err(f"{path}:{f.range.start.line + 1}: cannot pin, the render failed: "
                 f"{f.message}")
            return EXIT_DISCREPANCIES
        pin_render(render, target, force=force, within=within, why=why)
        print(f"pinned {path} → {target}")
    except OutsideWorkspaceError as exc:
        _err(f"{exc}; {OUTSIDE_HINT} (or --reference PATH)")
        return EXIT_USAGE
    except (SourceError, ConfigError, PinExistsError) as exc:
        _err(str(exc))
        return EXIT_USAGE
    except OSError as exc:
        _err(f"{path}: cannot write the reference: {exc}")
        return EXIT_USAGE
    return EXIT_OK


def _confirmed(question: str) -> bool:
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _pin_selected(args: argparse.Namespace) -> int:
    """`verm pin --missing` (sources whose reference does not exist yet) and `--changed`
    (sources whose check fails: their references replaced, after saying which and asking)."""
    cwd = Path.cwd()
    status = EXIT_OK
    warnings = Warnings()
    with _checker(args) as checker:
        try:
            sources = discover(args.sources, checker, None)
        except (UsageError, ConfigError) as exc:
            _err(str(exc))
            return EXIT_USAGE
        create: list[tuple[Path, Path]] = []
        replace: list[tuple[Path, Path, str]] = []
        for path in sources:
            try:
                source = checker.load(path)
                target = default_pin_target(source, checker.config_for(source.path)).path
            except (SourceError, ConfigError) as exc:
                _err(str(exc))
                status = EXIT_USAGE
                continue
            if not os.path.lexists(target):
                if args.missing:
                    create.append((path, target))
                continue
            if not args.changed:
                continue
            result = _check_one(checker, path, None)
            if isinstance(result, Exception):
                _err(f"{result}; not re-pinned (replace it with `verm pin --force`)")
                status = EXIT_USAGE
            elif not result.rendered:
                _err(f"{path}: cannot re-pin, the render failed (`verm check {path}` says "
                     f"why)")
                status = max(status, EXIT_DISCREPANCIES)
            elif not result.equivalent:
                replace.append((path, target, summary(Outcome.of(result, cwd), cwd)))
        for path, target in create:
            print(f"will create {_shown(target, cwd)} (no reference for {_shown(path, cwd)} "
                  f"yet)")
        for _path, target, why in replace:
            print(f"will replace {_shown(target, cwd)} ({why})")
        if not create and not replace:
            what = " or ".join(m for m, on in (("missing", args.missing),
                                                ("failing", args.changed)) if on)
            print(f"nothing to pin: no {what} reference among {len(sources)} sources")
            return status
        if replace and not args.yes:
            sys.stdout.flush()
            if not sys.stdin.isatty():
                _err(f"not replacing {len(replace)} reference(s) without a confirmation: run "
                     f"in a terminal to be asked, or pass --yes")
                return EXIT_USAGE
            if not _confirmed(f"replace {len(replace)} reference(s)"
                              f"{f' and create {len(create)}' if create else ''}?"):
                _err("nothing pinned")
                return max(status, EXIT_DISCREPANCIES)
        for path, _target in create:
            status = max(status, _pin_one(checker, path, args, False, warnings))
        for path, _target, _why in replace:
            status = max(status, _pin_one(checker, path, args, True, warnings))
    return status


def cmd_pin(args: argparse.Namespace) -> int:
    if args.changed or args.missing:
        if args.reference is not None:
            _err("--reference names one file: pin --changed/--missing write each source's "
                 "own reference")
            return EXIT_USAGE
        return _pin_selected(args)
    status = EXIT_OK
    warnings = Warnings()
    with _checker(args) as checker:
        for path in args.sources:
            status = max(status, _pin_one(checker, path, args, args.force, warnings))
    return status


def cmd_revise(args: argparse.Namespace) -> int:
    """Revise the source until its render matches the reference: with the policy model when
    one is configured (--policy, --policy-endpoint or the user config), else by searching its
    literals. Prints the diff; --write applies it."""
    from verm.config import user_config_path
    from verm.revise import open_policy, read_settings, revise, revise_with_policy

    if args.max_renders < 1 or args.max_seconds <= 0:
        _err("--max-renders and --max-seconds must be positive")
        return EXIT_USAGE
    if args.rounds is not None and args.rounds < 1:
        _err("--rounds must be positive")
        return EXIT_USAGE
    if args.write and not args.allow_outside:
        try:  # the file to write, symlinks resolved, must be in the source's workspace
            confine(args.source, [project_root(args.source)], "the source path")
        except OutsideWorkspaceError as exc:
            _err(f"{exc}; {OUTSIDE_HINT}")
            return EXIT_USAGE
    flags = {"policy": args.policy, "policy-adapter": args.policy_adapter,
             "policy-endpoint": args.policy_endpoint, "policy-name": args.policy_name,
             "policy-api-key-env": args.policy_api_key_env, "policy-rounds": args.rounds}
    overrides = {**_overrides(args), **{k: v for k, v in flags.items() if v is not None}}
    with Checker(critic=args.critic, overrides=overrides) as checker:
        policy, bar = None, None
        try:
            source = checker.load(args.source)
            settings = read_settings(checker.user_settings, checker.overrides,
                                     str(user_config_path()))
            if settings.configured and not args.no_policy:
                policy = open_policy(settings)
            shown = bar = Progress(settings.rounds if policy is not None else args.max_renders)

            def progress(message: str, fraction: float) -> None:
                shown.step(round(fraction * shown.total), message)

            if policy is not None:
                revision = revise_with_policy(checker, source, policy,
                                              reference=args.reference, on_progress=progress)
            else:
                revision = revise(checker, source, reference=args.reference,
                                  max_renders=args.max_renders, max_seconds=args.max_seconds,
                                  on_progress=progress)
        except (SourceError, NotPinnedError, BadReferenceError, ConfigError,
                CriticError) as exc:
            _err(str(exc))
            return EXIT_USAGE
        finally:
            if policy is not None:
                policy.close()
            if bar is not None:
                bar.close()
    why = {"equivalent": "visually equivalent", "plateau": "no further literal edit helps",
           "budget": "render/time budget spent", "rounds": "policy rounds used up",
           "failed": "the policy could not be used", "cancelled": "cancelled"}[revision.stopped]
    tried = (f"{sum(r.kept for r in revision.rounds)} of {len(revision.rounds)} policy rounds "
             f"kept" if revision.reviser == "policy" else f"{len(revision.edits)} edits kept")
    print(f"{args.source}: reward {revision.reward_before:.2f} → {revision.reward_after:.2f} "
          f"({tried}, {revision.renders} renders, {revision.seconds:.1f} s; {why})")
    for r in revision.rounds:
        score = f" (reward {r.reward:.2f})" if r.reward is not None else ""
        print(f"  round {r.number}: {r.why}{score}")
    for note in revision.notes:
        _err(note)
    if not revision.improved:
        print("no revision improved the render; nothing to change" if revision.reviser ==
              "policy" else "no edit of a literal improved the render; nothing to change")
        if revision.stopped == "failed":
            return EXIT_USAGE
        return EXIT_OK if revision.equivalent else EXIT_DISCREPANCIES
    sys.stdout.write(revision.diff(args.source.as_posix()))
    if not args.write:
        print("not written: run again with --write to apply", file=sys.stderr)
    else:
        raw = args.source.read_bytes()
        bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
        if raw[len(bom):].decode("utf-8", "replace") != revision.original:
            _err(f"{args.source}: changed on disk while revising; not written, run again")
            return EXIT_USAGE
        try:
            atomic_write(args.source, bom + revision.text.encode("utf-8"))
        except OSError as exc:
            _err(f"{args.source}: not written: {exc}")
            return EXIT_USAGE
        print(f"wrote {args.source}", file=sys.stderr)
    return EXIT_OK if revision.equivalent else EXIT_DISCREPANCIES


def cmd_serve(args: argparse.Namespace) -> int:
    """The language server. stdout is the protocol: nothing else may print to it."""
    from verm.lsp.server import create_server

    server = create_server()
    try:
        if args.tcp:
            host, _, port = args.tcp.rpartition(":")
            if not host or not port.isdigit():
                _err(f"--tcp expects HOST:PORT, got {args.tcp!r}")
                return EXIT_USAGE
            server.start_tcp(host, int(port))
        else:
            server.start_io()
    finally:
        server.close()
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    """``verm train …``: the training recipes (``verm_training.cli``), imported only here so
    no other command pays for (or depends on) the training libraries."""
    try:
        from verm_training.cli import main as train_main
    except ImportError as exc:
        _err(f"train: the training package is not installed ({exc}); install verm[train]")
        return EXIT_USAGE
    return train_main(list(args.train_argv))


def _user_flags(parser: argparse.ArgumentParser) -> None:
    """Settings only the user may choose (never a workspace file): program and limits."""
    parser.add_argument("--chromium", default=None, metavar="PATH",
                        help="Chromium executable for HTML and Markdown (default: your config, "
                        "$VERM_CHROMIUM, then PATH)")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="seconds a render may take (a workspace may only lower it)")
    parser.add_argument("--memory", type=int, default=None, metavar="MB",
                        help="MB a render may use (a workspace may only lower it)")


FORMATS = ("text", "json", "sarif", "github", "junit")
FORMAT_HELP = ("text (people), json (one object per source per line), sarif (code-scanning "
               "UIs), github (workflow annotations on the lines), junit (CI test tabs)")


def _shard(value: str) -> object:
    from verm.shard import Shard, ShardError

    try:
        return Shard.parse(value)
    except ShardError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="verm", description="Judge code by its picture: render a source, compare it with "
        "its pinned reference screenshot, report each visual mismatch on its line.")
    parser.add_argument("--version", action="version", version=f"verm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="judge sources against their pinned references")
    check.add_argument("sources", nargs="+", type=Path, metavar="SRC",
                       help="source files, or folders to search for pinned sources")
    check.add_argument("--reference", type=Path, help="reference image (overrides pins)")
    check.add_argument("--critic", choices=CRITICS, default=None,
                       help="which critic judges (default: config, else analytic)")
    check.add_argument("--jobs", type=_positive_int, default=None, metavar="N",
                       help="sources judged at once (default: the machine's cores; 1: one "
                            "after another); the output is in the same order either way")
    check.add_argument("--format", choices=FORMATS, default="text", help=FORMAT_HELP)
    check.add_argument("--shard", type=_shard, default=None, metavar="I/N",
                       help="check only the I-th of N parts of the sources (CI matrices: every "
                            "machine computes the same split; merge with `verm merge-reports`)")
    check.add_argument("--shard-durations", type=Path, default=None, metavar="FILE",
                       help="balance the shards by the time each source took in this JSON "
                            "report of an earlier run (a --json-report file, or merged ones)")
    check.add_argument("--json-report", type=Path, default=None, metavar="FILE",
                       help="also write the JSON report here, each source with its time and "
                            "place (for `verm merge-reports` and --shard-durations)")
    check.add_argument("--pinned-only", action="store_true",
                       help="skip named files no reference is pinned for (a pre-commit hook's "
                            "staged files), instead of failing")
    check.add_argument("--diff-dir", type=Path, default=None,
                       help="write reference | render | difference images here (one per "
                       "source, by its path)")
    check.add_argument("--report", type=report_dir_argument, default=None, metavar="DIR",
                       help="also write a static HTML report here (DIR/index.html: every "
                       "source, its findings, reference/render/difference viewer)")
    _user_flags(check)
    add_model_flags(check)
    check.set_defaults(func=cmd_check)

    merge = sub.add_parser("merge-reports", help="combine the JSON reports of `verm check "
                           "--shard` runs into one result and one exit status")
    merge.add_argument("reports", nargs="+", type=Path, metavar="REPORT",
                       help="`verm check --format json` outputs, --json-report files, or "
                            "--report folders")
    merge.add_argument("--format", choices=FORMATS, default="text", help=FORMAT_HELP)
    merge.add_argument("--report", type=report_dir_argument, default=None, metavar="DIR",
                       help="also combine the shards' --report folders into one static HTML "
                       "report here (every source in the unsharded order, its pictures copied)")
    merge.set_defaults(func=cmd_merge_reports)

    render = sub.add_parser("render", help="write the render that check judges")
    render.add_argument("source", type=Path, metavar="SRC")
    render.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.png")
    render.add_argument("--anchors", type=Path, default=None, metavar="OUT.json",
                        help="also write the render's anchors (boxes, roles, source ranges)")
    _user_flags(render)
    render.set_defaults(func=cmd_render)

    pin = sub.add_parser("pin", help="approve the current render as the reference")
    pin.add_argument("sources", nargs="+", type=Path, metavar="SRC")
    pin.add_argument("--reference", type=Path, default=None,
                     help="where to write (default: the resolved pin, else <stem>.ref.png)")
    pin.add_argument("--force", action="store_true", help="replace an existing reference")
    pin.add_argument("--allow-outside", action="store_true",
                     help="write a reference the workspace maps outside itself")
    pin.add_argument("--changed", action="store_true",
                     help="re-pin only the sources (files, or pinned ones below folders) whose "
                          "check fails, after listing them and asking")
    pin.add_argument("--missing", action="store_true",
                     help="pin only the sources whose reference does not exist yet")
    pin.add_argument("--yes", action="store_true",
                     help="with --changed: replace without asking (scripts, CI)")
    _user_flags(pin)
    pin.set_defaults(func=cmd_pin)

    revise = sub.add_parser("revise", help="edit the source until its render matches the "
                            "reference (a policy model, else a search of its literals)")
    revise.add_argument("source", type=Path, metavar="SRC")
    revise.add_argument("--reference", type=Path, default=None,
                        help="reference image (overrides pins)")
    revise.add_argument("--critic", choices=CRITICS, default=None,
                        help="which critic re-judges each revision (default: config, else "
                        "analytic)")
    revise.add_argument("--max-renders", type=int, default=30, metavar="N",
                        help="literal search: stop after N renders (default 30)")
    revise.add_argument("--max-seconds", type=float, default=60.0, metavar="S",
                        help="literal search: stop after S seconds (default 60)")
    revise.add_argument("--write", action="store_true",
                        help="write the revised source (default: print the diff only)")
    revise.add_argument("--allow-outside", action="store_true",
                        help="--write even where the source links outside its workspace")
    policy = revise.add_argument_group(
        "policy model (the paper's reflection loop; the user's alone, also in "
        "~/.config/verm/config.toml as policy, policy-endpoint, ...)")
    policy.add_argument("--policy", default=None, metavar="PATH",
                        help="a Qwen-VL-family instruct checkpoint folder, run on this machine")
    policy.add_argument("--policy-adapter", default=None, metavar="PATH",
                        help="a PEFT LoRA adapter for --policy")
    policy.add_argument("--policy-endpoint", action="append", default=None, metavar="URL",
                        help="an OpenAI-compatible server serving the policy, e.g. "
                        "http://gpu-box:8000/v1 (repeat for several)")
    policy.add_argument("--policy-name", default=None, metavar="NAME",
                        help="the served policy's name (default: the server's first)")
    policy.add_argument("--policy-api-key-env", default=None, metavar="VAR",
                        help="the environment variable holding the policy server's API key")
    policy.add_argument("--rounds", type=int, default=None, metavar="N",
                        help="policy rounds: ask, render, judge, keep if better (default 3)")
    policy.add_argument("--no-policy", action="store_true",
                        help="search the literals even where a policy is configured")
    _user_flags(revise)
    add_model_flags(revise)
    revise.set_defaults(func=cmd_revise)

    serve = sub.add_parser("serve", help="run the language server (LSP over stdio)")
    serve.add_argument("--tcp", metavar="HOST:PORT", default=None,
                       help="listen on a TCP socket instead of stdio (for debugging)")
    serve.set_defaults(func=cmd_serve)

    # Everything after `train` is verm_training's to parse (its own --help included): no
    # option prefix here, so argparse hands `--help` and every flag through untouched.
    train = sub.add_parser("train", add_help=False, prefix_chars="+",
                           help="teach the critic your house style; reinforce a code writer "
                           "(`verm train --help`)")
    train.add_argument("train_argv", nargs=argparse.REMAINDER)
    train.set_defaults(func=cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "reference", None) is not None and len(getattr(args, "sources", [])) > 1 \
            and args.command == "pin":
        _err("--reference with several sources would pin them all to one file")
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
