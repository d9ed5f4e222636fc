"""One judgement, end to end: pins → render → critic → locate. Used by the CLI and the server."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from verm.config import (
    Config,
    ConfigError,
    Notice,
    apply_settings,
    load_config,
    load_user_settings,
    resolve_options,
    user_config_path,
)
from verm.critic import get_critic
from verm.critic.analytic.critic import retyped, whole_tenths
from verm.critic.base import Critic
from verm.locate import locate, locate_all
from verm.pins import BadReferenceError, Pin, resolve_pin
from verm.refcache import ReferenceCache
from verm.refcache import stamp as file_stamp
from verm.render import Renderers
from verm.render.base import RenderOptions
from verm.render.sandbox import Job
from verm.resolution import (
    RESCALABLE,
    figure_size_discrepancy,
    ratio,
    score,
    text_saturated,
    texts_at_scale,
)
from verm.reward import reward
from verm.safeio import ReadLimits
from verm.source import Source
from verm.types import TAXONOMY, Critique, Discrepancy, Kind, Reference, Render

log = logging.getLogger("verm.check")

# The category a failed render is reported under, per domain (the first "structure" category).
FAILURE_CATEGORY: dict[str, str] = {k: v[0] for k, v in TAXONOMY.items()}


class NotPinnedError(Exception):
    """The source has no reference; the message says how to pin one."""


class CriticError(Exception):
    """The critic failed on this pair of images (a bug in verm, not in the user's source)."""


@dataclass
class CheckResult:
    source: Source
    pin: Pin
    render: Render
    critique: Critique | None
    discrepancies: list[Discrepancy] = field(default_factory=list)
    elapsed_ms: float = 0.0
    notices: list[Notice] = field(default_factory=list)  # workspace settings ignored/lowered

    @property
    def kind(self) -> Kind:
        return self.source.kind

    @property
    def rendered(self) -> bool:
        return self.critique.rendered if self.critique is not None else False

    @property
    def reward(self) -> float:
        """DESIGN.md's reward of what is shown (an ensemble's: its model's, when it answered)."""
        if self.rendered and self.critique is not None and "reward" in self.critique.meta:
            return float(self.critique.meta["reward"])
        return reward([d.severity for d in self.discrepancies], rendered=self.rendered)

    @property
    def equivalent(self) -> bool:
        return self.rendered and not self.discrepancies

    def to_json(self, relative_to: Path | None = None) -> dict[str, Any]:
        """DESIGN.md's ``verm check --format json`` object for this source."""
        return {
            "source": _show(self.source.path, relative_to),
            "reference": _show(self.pin.path, relative_to),
            "kind": self.kind,
            "rendered": self.rendered,
            "reward": round(self.reward, 4),
            "errors": [d.to_json() for d in self.discrepancies],
            **({"notes": list(self.critique.notes)}
               if self.critique is not None and self.critique.notes else {}),
        }


def _show(path: Path, relative_to: Path | None) -> str:
    if relative_to is not None:
        try:
            return path.absolute().relative_to(relative_to.absolute()).as_posix()
        except ValueError:
            pass
    return str(path)


NEAR_SIZE = 0.1  # relative size change of an icon's reference that a crop explains
CROP_SLACK = 16  # px a screenshot may be cut short of the figure's edges, all in all
NATIVE_SCALE = 0.01  # relative: a registration's scale this close to the size ratio is it
HIDPI_SCALES = (1.5, 2.0, 3.0, 4.0)  # device pixel ratios screenshots are taken at
RESHAPED_FINDINGS = 4  # more, drawn at the reference's size: not only the size changed there


def _canvas_only(critique: Critique) -> bool:
    """The verdict is the canvas's size alone (no element named)."""
    return len(critique.discrepancies) == 1 and critique.discrepancies[0].anchor is None and (
        critique.discrepancies[0].fix or {}).get("kind") == "size"


def _other_resolution(critique: Critique) -> bool:
    """The reference was found at another resolution than the render's (a 2× screenshot):
    judged resampled, thin changes blur away — it is drawn at the reference's too."""
    reg = critique.meta.get("registration") or {}
    return reg.get("method") != "crop" and abs(float(reg.get("scale", 1.0)) - 1.0) > NATIVE_SCALE


def _is_canvas_size(d: Discrepancy) -> bool:
    """The figure's own size, not an element's."""
    return d.anchor is None and (d.fix or {}).get("kind") == "size" and d.location == "figure"


def _aligned(reg: dict[str, Any], cropped: bool) -> bool:
    """A redraw met the reference's canvas: as drawn, or found by the search at scale 1
    within 1.5 px (a chart type changed too many pixels to call it the same canvas); the
    reference a crop of it: placed as one, or found within CROP_SLACK px."""
    method = reg.get("method")
    if method in ("identical", "same-canvas") or (cropped and method == "crop"):
        return True
    reach = CROP_SLACK if cropped else 1.5
    return (method == "search" and abs(float(reg.get("scale", 0.0)) - 1) <= 0.005
            and max(abs(float(reg.get("dx", 99))), abs(float(reg.get("dy", 99)))) <= reach)


def _turned(critique: Critique) -> bool:
    """The redraw found the chart type changed, at the canvas's own scale: bars turned on
    their side moved the plot over by the other axis's wider tick labels, which is why the
    search placed it off the canvas's origin."""
    reg = critique.meta.get("registration") or {}
    return (reg.get("method") == "search" and abs(float(reg.get("scale", 0.0)) - 1) <= 0.005
            and retyped(critique.discrepancies))


def _figure_inches(w: int, h: int, dpi: float) -> tuple[float, float] | None:
    """The figure size (inches) a script would set for a picture of ``w``×``h`` px at
    ``dpi``: its own, when whole tenths of an inch; else the next whole tenths up when that
    is at most CROP_SLACK px more (a screenshot cut a few px short of the figure's edges)."""
    if whole_tenths(w, dpi) and whole_tenths(h, dpi):
        return (w / dpi, h / dpi)
    out = []
    for px in (w, h):
        tenths = math.ceil(px * 10 / dpi)
        while math.floor(tenths * dpi / 10) < px:
            tenths += 1
        if math.floor(tenths * dpi / 10) - px > CROP_SLACK:
            return None
        out.append(tenths / 10)
    return out[0], out[1]


def _line_order(d: Discrepancy) -> tuple[int, int]:
    return (d.range.start.line if d.range else 0), -d.severity


def failure_discrepancy(render: Render) -> Discrepancy:
    assert render.failure is not None
    f = render.failure
    return Discrepancy(
        category=FAILURE_CATEGORY[render.kind],
        severity=3,
        location="render",
        description=f"render failed: {f.message}",
        range=f.range,
    )


class Checker:
    """Holds the warm renderers and critics so many checks share one start-up cost."""

    def __init__(self, critic: str | None = None, renderers: Renderers | None = None,
                 overrides: dict[str, Any] | None = None,
                 user_settings: dict[str, Any] | None = None) -> None:
        """``overrides``: the editor's settings or CLI flags; ``user_settings``: the user config
        file's (default: read from ``~/.config/verm/config.toml``). Both are the user's: they
        set the limits a workspace may only lower, and the user-only keys."""
        self._critic_name = critic
        self.overrides = dict(overrides or {})  # settings above the config files (editor, CLI)
        self._user_settings = user_settings
        self._user_options: RenderOptions | None = None
        self._limits: ReadLimits | None = None
        self._critics: dict[tuple[str, Any], Critic] = {}
        self._model_settings: Any = None
        self._critic_lock = threading.RLock()
        # Model loading progress, (message, fraction or None): the server shows $/progress.
        self.on_model_status: list[Callable[[str, float | None], None]] = []
        self.renderers = renderers or Renderers()
        self._configs: dict[Path, Config] = {}
        self._references = ReferenceCache()  # decoded references, an LRU bounded in bytes
        # (source, reference) → (reference stamp, scale): a source that matched its reference
        # best drawn at another resolution is drawn at it from the start next time.
        self._scales: dict[tuple[Path, Path], tuple[tuple[int, ...], float]] = {}

    def config_for(self, path: Path) -> Config:
        folder = path.absolute().parent
        config = self._configs.get(folder)
        if config is None:
            config = self._configs[folder] = load_config(folder)
        return config

    def critic(self, config: Config) -> Critic:
        """The critic the user (or else the workspace's ``critic`` key) asked for, built once
        per set of model settings and shared by every source."""
        name = self._critic_name or config.critic
        settings = self.model_settings() if name != "analytic" else None
        with self._critic_lock:  # sources judged at once share one critic (and its worker)
            return self._critic(name, settings)

    def _critic(self, name: str, settings: Any) -> Critic:
        critic = self._critics.get((name, settings))
        if critic is None:
            try:
                critic = get_critic(name, settings=settings, analytic=self.analytic_critic(),
                                    on_status=self._model_status)
            except ValueError as exc:  # a model critic without a model or server
                raise ConfigError(str(exc)) from None
            for key in [k for k in self._critics if k[0] == name]:  # settings changed
                old = self._critics.pop(key)
                getattr(old, "close", lambda: None)()
            self._critics[(name, settings)] = critic
        return critic

    def analytic_critic(self) -> Critic:
        with self._critic_lock:
            critic = self._critics.get(("analytic", None))
            if critic is None:
                critic = self._critics[("analytic", None)] = get_critic("analytic")
            return critic

    def model_settings(self) -> Any:
        """The user's model settings: the user config, then the editor's or CLI's (never a
        workspace file's; see ``verm.critic.model.settings``)."""
        if self._model_settings is None:
            from verm.critic.model.settings import ModelSettings, ModelSettingsError, apply

            try:
                settings = apply(ModelSettings(), self.user_settings, str(user_config_path()))
                self._model_settings = apply(settings, self.overrides, "your settings")
            except ModelSettingsError as exc:
                raise ConfigError(str(exc)) from None
        return self._model_settings

    def set_overrides(self, overrides: dict[str, Any]) -> None:
        """New editor settings: model critics are rebuilt when their settings changed."""
        self.overrides = dict(overrides)
        self._model_settings = None

    def _model_status(self, message: str, fraction: float | None) -> None:
        for listener in list(self.on_model_status):
            try:
                listener(message, fraction)
            except Exception:
                log.exception("verm: a model status listener failed")

    def reference(self, pin: Pin) -> Reference:
        """The pinned reference, decoded once and reused until its file or sidecar changes
        (or the bounded cache needs the room for another)."""
        _ = self.limits  # the user's caps, read once, reach the cache before its first read
        return self._references.get(pin)

    def forget(self, reference: Path) -> None:
        """Let go of the decoded reference at ``reference`` (no open document pins it now)."""
        self._references.forget(reference)

    def drop_references(self) -> None:
        """Let go of every decoded reference (e.g. when the user's limits change)."""
        self._references.clear()

    def load(self, path: Path, text: str | None = None) -> Source:
        """``path`` as a source, read from disk within the user's caps (or the editor's text)."""
        return Source.load(path, text, self.limits)

    @property
    def limits(self) -> ReadLimits:
        """What verm reads and keeps at most: the user config's caps (never the workspace's)."""
        if self._limits is None:
            try:
                self._limits = ReadLimits.from_mapping(self.user_settings, where=str(
                    user_config_path()))
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
            self._references.limits = self._limits
        return self._limits

    @property
    def user_settings(self) -> dict[str, Any]:
        """The user config file's settings, read once (raises ``ConfigError`` if it is bad)."""
        if self._user_settings is None:
            self._user_settings = load_user_settings()
        return self._user_settings

    def prestart(self, kinds: Iterable[str]) -> None:
        """Start the render workers of ``kinds`` in the background (Chromium at the path the
        user's settings name: a workspace never chooses it)."""
        chromium = apply_settings(self.user_options(), self.overrides, "your settings")
        self.renderers.prestart(kinds, chromium.chromium_path)

    def user_options(self) -> RenderOptions:
        if self._user_options is None:
            self._user_options = apply_settings(RenderOptions(), self.user_settings,
                                                "your verm config")
        return self._user_options

    def resolve_options(self, source: Source) -> tuple[RenderOptions, list[Notice]]:
        """User config < workspace config < editor/CLI overrides < the source's pragmas; the
        workspace's layers may only lower the user's limits (see ``verm.config``)."""
        options, notices = resolve_options(source, self.config_for(source.path),
                                           self.user_options(), self.overrides)
        return replace(options, read_limits=self.limits), notices

    def options(self, source: Source) -> RenderOptions:
        return self.resolve_options(source)[0]

    def notices(self, source: Source) -> list[Notice]:
        """The workspace settings this source's render ignores or lowers, each said once."""
        return self.resolve_options(source)[1]

    def render(self, source: Source, on_start: Callable[[Job], None] | None = None,
               scale: float = 1.0, options: RenderOptions | None = None) -> Render:
        """The render ``check`` judges (raises ``ConfigError`` for bad settings or pragmas);
        ``scale`` draws it at that many times its natural size; ``options``: already resolved
        for ``source`` (see ``resolve_options``)."""
        options = options or self.options(source)
        if scale != 1.0:
            options = replace(options, scale=options.scale * scale)
        return self.renderers.render(source, options, on_start)

    def pin_of(self, source: Source, reference: Path | None = None) -> Pin | None:
        return resolve_pin(source, self.config_for(source.path), reference)

    def check(self, source: Source, reference: Path | None = None,
              on_start: Callable[[Job], None] | None = None,
              on_partial: Callable[[CheckResult], None] | None = None,
              cancelled: Callable[[], bool] | None = None) -> CheckResult:
        """Judge ``source`` against its pinned reference.

        With a model critic the analytic critic judges first: ``on_partial`` gets a result with
        its located findings at once, then again with each model finding added as the model
        writes it; the returned result is the model's verdict. ``cancelled()`` stops a model
        early (a newer save).

        Raises ``NotPinnedError`` (no reference), ``BadReferenceError`` (unusable reference) and
        ``ConfigError`` (bad settings); a failed render is a result, not an exception.
        """
        start = time.perf_counter()
        config = self.config_for(source.path)
        pin = resolve_pin(source, config, reference)
        if pin is None:
            raise NotPinnedError(
                f"{source.path}: no reference pinned; run `verm pin {source.path.name}` to "
                f"approve the current render, add a `verm: reference=...` pragma, map it in "
                f"[tool.verm.references], or pass --reference")
        ref = self.reference(pin)
        final = self.critic(config)
        critic = self.analytic_critic() if getattr(final, "streams", False) else final
        options, notices = self.resolve_options(source)
        key = (source.path.absolute(), pin.path.absolute())
        stamp = file_stamp(pin.path)
        remembered = self._scales.get(key)
        scale = remembered[1] if remembered is not None and remembered[0] == stamp else 1.0
        render = self.render(source, on_start, scale, options)
        if not render.ok:
            critique = Critique(rendered=False, critic=critic.name)
            found = [failure_discrepancy(render)]
        else:
            critique = self._judge(critic, ref, render)
            if (critique.rendered and ref.anchors is None and source.kind in RESCALABLE
                    and (critique.discrepancies or (ref.image.size != render.size
                                                    and _other_resolution(critique)))):
                render, critique = self._at_reference_resolution(
                    source, ref, critic, render, critique, scale, on_start, key, stamp,
                    options)
                if source.kind == "chart":
                    render, critique = self._at_reference_shape(
                        source, ref, critic, render, critique, on_start, options,
                        critique.meta.get("drawn_at_scale", scale))
            found = locate_all(list(critique.discrepancies), render)
            if final is not critic and critique.rendered:
                critique, found = self._model_verdict(
                    final, ref, render, critique, found,
                    None if on_partial is None else lambda shown, first: on_partial(CheckResult(
                        source=source, pin=pin, render=render, critique=first,
                        discrepancies=shown, notices=notices)),
                    cancelled)
            if not critique.rendered and not found:
                found = [Discrepancy(FAILURE_CATEGORY[render.kind], 3, "render",
                                     "the render is blank")]
        found.sort(key=_line_order)
        return CheckResult(source=source, pin=pin, render=render, critique=critique,
                           discrepancies=found,
                           elapsed_ms=(time.perf_counter() - start) * 1000,
                           notices=notices)

    def _model_verdict(self, critic: Any, ref: Reference, render: Render, first: Critique,
                       found: list[Discrepancy],
                       on_partial: Callable[[list[Discrepancy], Critique], None] | None,
                       cancelled: Callable[[], bool] | None,
                       ) -> tuple[Critique, list[Discrepancy]]:
        """A model critic's verdict after the analytic ``first`` (shown meanwhile)."""
        streamed: list[Discrepancy] = []

        def partial() -> None:
            if on_partial is not None:
                on_partial(sorted([*found, *streamed], key=_line_order), first)

        def on_finding(d: Discrepancy) -> None:
            d.range = locate(d, render)
            streamed.append(d)
            partial()

        partial()
        try:
            verdict = critic.judge_after(ref, render, first, on_finding if on_partial else None,
                                         cancelled)
        except Exception as exc:
            log.exception("the %s critic failed on %s", critic.name, render.source)
            raise CriticError(
                f"{render.source}: verm's {critic.name} critic failed on this render and "
                f"reference ({type(exc).__name__}: {exc}); please report it") from exc
        return verdict, locate_all(list(verdict.discrepancies), render)

    def _judge(self, critic: Critic, ref: Reference, render: Render) -> Critique:
        try:
            return critic.judge(ref, render)
        except Exception as exc:  # a critic bug must not look like a verdict, nor crash
            log.exception("the %s critic failed on %s", critic.name, render.source)
            raise CriticError(
                f"{render.source}: verm's {critic.name} critic failed on this render and "
                f"reference ({type(exc).__name__}: {exc}); please report it") from exc

    def _at_reference_resolution(
        self, source: Source, ref: Reference, critic: Critic, render: Render,
        critique: Critique, scale: float, on_start: Callable[[Job], None] | None,
        key: tuple[Path, Path], stamp: tuple[int, ...], options: RenderOptions,
    ) -> tuple[Render, Critique]:
        """Judge the source drawn at the reference's size too, when only the resolution
        seems to differ; keep the better verdict (see ``verm.resolution``)."""
        s = ratio(ref.image.size, render)
        reg = critique.meta.get("registration") or {}
        sized = any((d.fix or {}).get("kind") == "size" and d.anchor is None
                    for d in critique.discrepancies)  # the canvas's own size, not an element's
        if s is None or reg.get("method") == "crop" or (
                reg.get("scale") == 1.0 and not sized and source.kind != "svg"):
            # Placed at scale 1 and judged in place (a cropped screenshot of a chart or page):
            # the same resolution, nothing to redraw. An icon is exported at any size: a
            # redraw at the reference's is still worth a try.
            return render, critique
        again = self.render(source, on_start, scale * s, options)
        if not again.ok:
            return render, critique
        second = self._judge(critic, ref, again)
        # An icon judged whole only by its canvas's size (too much differed to align it) that,
        # drawn at the size of a reference a few px smaller or larger (a crop's), lands on its
        # canvas and names a few changes: those are the verdict (an icon is exported at any
        # size; its size alone is not a change). Redrawn much smaller, a small icon's
        # resampling would name changes of its own.
        named = (source.kind == "svg" and abs(s - 1) <= NEAR_SIZE and _canvas_only(critique)
                 and again.size == ref.image.size
                 and 0 < len(second.discrepancies) <= RESHAPED_FINDINGS)
        # Drawn at the very resolution the reference was found at, pixel for pixel: that
        # judgement stands (resampled, a thin text's recolour blurs into its neighbours').
        native = (again.size == ref.image.size
                  and abs(float(reg.get("scale", 1.0)) - s) <= NATIVE_SCALE * s)
        # A canvas exactly the render's at a HiDPI scale (a page's viewport or a figure shot
        # at 2×), met as drawn: that resolution is the reference's, whatever scale the first
        # search made of content that moved (boxes that grew fit no scale well).
        hidpi = (again.size == ref.image.size and s > 1
                 and any(abs(s - n) <= NATIVE_SCALE * n for n in HIDPI_SCALES)
                 and _aligned(second.meta.get("registration") or {}, False))
        if named or native or hidpi or score(second) <= score(critique):
            self._scales[key] = (stamp, scale * s)
            best_render, best = again, second
        else:
            self._scales.pop(key, None)
            best_render, best = render, critique
        if source.kind == "chart" and best.discrepancies and text_saturated(best, best_render):
            # Drawn at the reference's size its text still differs everywhere: the figure
            # size changed, and every other finding is a consequence of that.
            self._scales.pop(key, None)
            natural = (round(render.size[0] / scale), round(render.size[1] / scale))
            size = figure_size_discrepancy(source.kind, ref.image.size, natural, s)
            return render, replace(critique, discrepancies=[size],
                                   meta={**critique.meta, "figure_size_changed": True})
        best.meta["drawn_at_scale"] = round(scale * s if best is second else scale, 4)
        return best_render, best

    def _at_reference_shape(
        self, source: Source, ref: Reference, critic: Critic, render: Render,
        critique: Critique, on_start: Callable[[Job], None] | None, options: RenderOptions,
        scale: float = 1.0,
    ) -> tuple[Render, Critique]:
        """A chart whose figure has another shape than the reference's is judged whole only
        by its size; drawn again at the reference's size (its dpi kept, and the resolution
        ``scale`` it was drawn at: a HiDPI screenshot's), what else differs
        (a title, a limit, the chart type) is judged pixel for pixel and reported beside it.
        Kept only when that draw meets the reference canvas exactly (as drawn, or found aligned
        by the search when the chart type changed too many pixels to call it the same canvas)
        and finds the size alone explains the rest or names a few changes of its own."""
        canvas = [d for d in critique.discrepancies if _is_canvas_size(d)]
        dpi = render.meta.get("dpi")
        if len(canvas) != 1 or not isinstance(dpi, (int, float)) or dpi <= 0:
            return render, critique
        w, h = ref.image.size
        best: tuple[Render, Critique, tuple[float, float]] | None = None
        # Drawn at the resolution it was, else (nothing learnt yet) at a screen's 2×: a 2×
        # screenshot of a 6.4-inch figure is whole tenths at both (12.8 in at the script's
        # dpi, whose texts then differ everywhere: more than a few findings).
        for times in (1.0, 2.0) if scale == 1.0 else (1.0,):
            inches = _figure_inches(w, h, dpi * times)
            if inches is None:
                continue  # not a figure a script sized, nor a few px cut off one
            again = self.render(source, on_start, scale * times,
                                replace(options, figure_inches=inches))
            cropped = again.size != ref.image.size
            if not again.ok or (cropped and again.size == render.size):
                continue  # (the figure's own size: a crop of it that could not be placed)
            second = self._judge(critic, ref, again)
            if ((_aligned(second.meta.get("registration") or {}, cropped)
                 or (not cropped and _turned(second)))
                    and len(second.discrepancies) <= RESHAPED_FINDINGS
                    and not (cropped and any(_is_canvas_size(d) for d in second.discrepancies))
                    and not (times != 1.0 and texts_at_scale(second, times))):
                best = (again, second, inches)
                break
        if best is None:
            return render, critique
        again, second, inches = best
        return again, replace(critique, discrepancies=[*canvas, *second.discrepancies],
                              meta={**critique.meta, "drawn_at_inches": [round(v, 4)
                                                                          for v in inches]})

    def close(self) -> None:
        for critic in self._critics.values():
            close = getattr(critic, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    log.exception("verm: closing the %s critic failed", critic.name)
        self.renderers.close()

    def __enter__(self) -> Checker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "BadReferenceError",
    "CheckResult",
    "Checker",
    "ConfigError",
    "CriticError",
    "NotPinnedError",
    "Notice",
]
