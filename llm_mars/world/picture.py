"""A PNG of the field for people: places, stacks left, cakes on plates, cherries, robots, paths,
and the score.

It draws from the state JSON (``WorldState.state_dict()``) plus, optionally, each robot's
driven path, so a saved state can be drawn again later. Matplotlib runs with the Agg backend
(no display needed).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib import patches  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from llm_mars import vocabulary as V  # noqa: E402
from llm_mars.world.field import PLACE_XY, ROBOT_RADIUS_MM, Point  # noqa: E402

LAYER_COLORS = {"brown": "#7a4a2a", "yellow": "#f2c94c", "pink": "#f49ac1"}
CHERRY_COLOR = "#c0142b"
ROBOT_COLORS = {"robot1": "#1f5fbf", "robot2": "#e0701b"}
TABLE_COLOR = "#dde8f0"
PLATE_SIZE_MM = 340.0
HOME_SIZE_MM = (450.0, 900.0)


def draw_field(state: Mapping[str, Any], paths: Mapping[str, Sequence[Point]] | None = None,
               title: str | None = None) -> Figure:
    """The field at ``state`` as a matplotlib figure (call ``savefig`` or use :func:`save_png`)."""
    fig = plt.figure(figsize=(14, 7.6), dpi=110)
    field_ax = fig.add_axes((0.02, 0.04, 0.70, 0.88))
    side_ax = fig.add_axes((0.735, 0.04, 0.255, 0.88))
    _table(field_ax)
    _home(field_ax)
    for quadrant in V.QUADRANTS:
        _quadrant(field_ax, quadrant, state["quadrants"][quadrant])
    for holder in V.HOLDERS:
        _holder(field_ax, holder, state["holders"][holder])
    for plate in V.PLATES:
        _plate(field_ax, plate, state["plates"][plate])
    _basket(field_ax, state["basket"])
    for robot in V.ROBOTS:
        if paths and paths.get(robot):
            _path(field_ax, robot, paths[robot])
    for robot, info in state["robots"].items():
        _robot(field_ax, robot, info)
    _side_panel(side_ax, state)
    heading = title or "Eurobot field"
    fig.suptitle(f"{heading}  -  t = {state['time_s']:.1f} s"
                 + ("  (match over)" if state.get("match_over") else ""),
                 fontsize=15, fontweight="bold", x=0.37, y=0.975)
    return fig


def save_png(state: Mapping[str, Any], out: str | Path,
             paths: Mapping[str, Sequence[Point]] | None = None, title: str | None = None) -> Path:
    """Draw the field and write it as a PNG file; returns the path written."""
    out = Path(out)
    fig = draw_field(state, paths, title)
    try:
        fig.savefig(out, format="png")
    finally:
        plt.close(fig)
    return out


# --- pieces -------------------------------------------------------------------------------


def _table(ax: Any) -> None:
    ax.set_xlim(-60, V.FIELD_WIDTH_MM + 60)
    ax.set_ylim(-60, V.FIELD_HEIGHT_MM + 60)
    ax.set_aspect("equal")
    ax.add_patch(patches.Rectangle((0, 0), V.FIELD_WIDTH_MM, V.FIELD_HEIGHT_MM,
                                   facecolor=TABLE_COLOR, edgecolor="#333333", linewidth=2.5))
    for x in range(500, V.FIELD_WIDTH_MM, 500):
        ax.axvline(x, color="white", linewidth=0.8, zorder=0.5)
    for y in range(500, V.FIELD_HEIGHT_MM, 500):
        ax.axhline(y, color="white", linewidth=0.8, zorder=0.5)
    ax.set_xticks(range(0, V.FIELD_WIDTH_MM + 1, 500))
    ax.set_yticks(range(0, V.FIELD_HEIGHT_MM + 1, 500))
    ax.tick_params(labelsize=7, colors="#666666")
    for spine in ax.spines.values():
        spine.set_visible(False)


def _label(ax: Any, xy: Point, text: str, dy: float, **kw: Any) -> None:
    ax.text(xy[0], xy[1] + dy, text, ha="center", va="center", fontsize=8, color="#222222",
            zorder=6, **kw)


def _home(ax: Any) -> None:
    x, y = PLACE_XY[V.HOME]
    w, h = HOME_SIZE_MM
    ax.add_patch(patches.Rectangle((x - w / 2, y - h / 2), w, h, facecolor="#bfe3c0",
                                   edgecolor="#3a8a3d", linewidth=1.5, hatch="//", alpha=0.8,
                                   zorder=1))
    _label(ax, (x, y), "home", 0, fontweight="bold")


def _quadrant(ax: Any, quadrant: str, stacks: Mapping[str, int]) -> None:
    x, y = PLACE_XY[quadrant]
    ax.add_patch(patches.Circle((x, y), 240, facecolor="none", edgecolor="#8a8a8a",
                                linestyle="--", linewidth=1, zorder=1))
    for i, color in enumerate(V.COLORS):
        cx, cy = x - 150 + 150 * i, y - 55
        left = stacks[color] > 0
        ax.add_patch(patches.Circle(
            (cx, cy), 60, facecolor=LAYER_COLORS[color] if left else "none",
            edgecolor=LAYER_COLORS[color] if left else "#9a9a9a",
            linestyle="-" if left else ":", linewidth=1.2, zorder=3))
    _label(ax, (x, y), quadrant, 95)


def _holder(ax: Any, holder: str, cherries: int) -> None:
    x, y = PLACE_XY[holder]
    ax.add_patch(patches.FancyBboxPatch((x - 110, y - 70), 220, 140,
                                        boxstyle="round,pad=8", facecolor="#f5e1e4",
                                        edgecolor=CHERRY_COLOR, linewidth=1.2, zorder=2))
    ax.add_patch(patches.Circle((x - 50, y), 35, facecolor=CHERRY_COLOR if cherries else "none",
                                edgecolor=CHERRY_COLOR, zorder=3))
    ax.text(x + 30, y, str(cherries), ha="center", va="center", fontsize=10,
            fontweight="bold", color=CHERRY_COLOR, zorder=4)
    _label(ax, (x, y), holder, 115 if y < V.FIELD_HEIGHT_MM - 300 else -115)


def _plate(ax: Any, plate: str, cakes: Sequence[Mapping[str, Any]]) -> None:
    x, y = PLACE_XY[plate]
    half = PLATE_SIZE_MM / 2
    ax.add_patch(patches.Rectangle((x - half, y - half), PLATE_SIZE_MM, PLATE_SIZE_MM,
                                   facecolor="#ffffff", edgecolor="#555555", linewidth=1.3,
                                   zorder=1.5))
    _label(ax, (x, y), plate, half - 35, fontweight="bold")
    if not cakes:
        return
    # cakes side by side, up to 5 per row, layers stacked upwards
    per_row = min(len(cakes), 5)
    width = (PLATE_SIZE_MM - 30) / per_row
    layer_h = 60.0 if len(cakes) <= per_row else 30.0
    for i, cake in enumerate(cakes):
        row, col = divmod(i, per_row)
        left = x - half + 15 + col * width
        base = y - half + 12 + row * (layer_h * 3 + 25)
        for k, color in enumerate(cake["layers"]):
            ax.add_patch(patches.Rectangle((left + 3, base + k * layer_h), width - 6, layer_h,
                                           facecolor=LAYER_COLORS.get(color, "#999999"),
                                           edgecolor="#3b2a1a", linewidth=0.6, zorder=4))
        if cake["cherry"]:
            top = base + len(cake["layers"]) * layer_h
            ax.add_patch(patches.Circle((left + width / 2, top + 16), min(16, width / 3),
                                        facecolor=CHERRY_COLOR, edgecolor="#5a0010",
                                        zorder=5))


def _basket(ax: Any, cherries: int) -> None:
    x, y = PLACE_XY[V.BASKET]
    ax.add_patch(patches.FancyBboxPatch((x - 150, y - 120), 300, 240, boxstyle="round,pad=10",
                                        facecolor="#f3d9a4", edgecolor="#8a5a12", linewidth=1.5,
                                        zorder=2))
    ax.text(x, y + 30, "basket", ha="center", va="center", fontsize=8, fontweight="bold",
            zorder=6)
    ax.text(x, y - 45, f"{cherries} cherries", ha="center", va="center", fontsize=8,
            color=CHERRY_COLOR, fontweight="bold", zorder=6)


def _path(ax: Any, robot: str, points: Sequence[Point]) -> None:
    color = ROBOT_COLORS.get(robot, "#444444")
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    ax.plot(xs, ys, color=color, linewidth=2.2, alpha=0.75, zorder=3.5, solid_capstyle="round")
    ax.plot(xs[0], ys[0], marker="s", color=color, markersize=6, zorder=3.5)


def _robot(ax: Any, robot: str, info: Mapping[str, Any]) -> None:
    """A translucent disc (what it stands on stays visible) with its name and its load."""
    color = ROBOT_COLORS.get(robot, "#444444")
    x, y = info["x_mm"], info["y_mm"]
    ax.add_patch(patches.Circle((x, y), ROBOT_RADIUS_MM, facecolor=color, edgecolor="none",
                                alpha=0.45, zorder=3.8))
    ax.add_patch(patches.Circle((x, y), ROBOT_RADIUS_MM, facecolor="none", edgecolor=color,
                                linewidth=2.5, zorder=8))
    ax.text(x + ROBOT_RADIUS_MM * 0.75, y + ROBOT_RADIUS_MM * 0.75, robot.replace("robot", "R"),
            ha="center", va="center", fontsize=10, color="white", fontweight="bold", zorder=9,
            bbox={"boxstyle": "circle,pad=0.25", "facecolor": color, "edgecolor": "white"})
    carrying = info["carrying"]
    bits = [s[0].upper() for s in carrying["stacks"]]
    if carrying["cherries"]:
        bits.append(f"{carrying['cherries']}c")
    if bits:
        ax.text(x, y - ROBOT_RADIUS_MM - 40, " ".join(bits), ha="center", va="top", fontsize=7,
                zorder=9, bbox={"boxstyle": "round,pad=0.2", "facecolor": "white",
                                "edgecolor": color, "linewidth": 0.8})


def _side_panel(ax: Any, state: Mapping[str, Any]) -> None:
    ax.axis("off")
    fig = ax.figure
    line_px = ax.get_window_extent().height
    y = 1.0

    def write(text: str, size: float, color: str = "#222222", weight: str = "normal",
              **kw: Any) -> None:
        nonlocal y
        ax.text(0.0, y, text, transform=ax.transAxes, fontsize=size, fontweight=weight,
                family="monospace", color=color, va="top", **kw)
        y -= (size * 1.55 * fig.dpi / 72.0) / line_px * text.count("\n") + (
            size * 1.6 * fig.dpi / 72.0) / line_px

    score = state["score"]
    block = "\n".join([f"SCORE {score['total']:>12}",
                       f"  cakes    {score['cakes']:>8}",
                       f"  basket   {score['basket']:>8}",
                       f"  end zone {score['end_zone']:>8}",
                       f"  funny    {score['funny']:>8}"])
    write(block, 12, "#111111", "bold",
          bbox={"boxstyle": "round,pad=0.6", "facecolor": "#fff7d6", "edgecolor": "#c9a227"})
    y -= 0.03
    for robot, info in state["robots"].items():
        carrying = info["carrying"]
        write(f"{robot}  [{info['tree_status']}]", 11, ROBOT_COLORS.get(robot, "#444444"), "bold")
        write(f"  at {info['location'] or 'between places'}", 9)
        stacks = ", ".join(carrying["stacks"]) or "no stacks"
        write(f"  carries {stacks}; {carrying['cherries']} cherries", 9)
        if info.get("active"):
            write(f"  doing {_shorten(info['active'], 40)}", 9)
        if info.get("waiting_for"):
            write(f"  waiting for {info['waiting_for']}", 9)
        if info.get("giving_way_to"):
            write(f"  giving way to {info['giving_way_to']}", 9)
        for entry in info["history"][-7:]:
            ok = entry.endswith(": SUCCESS")
            write(f"  {_shorten(entry, 44)}", 8, "#1f7a1f" if ok else "#b00020")
        y -= 0.02
    _legend(ax)


def _legend(ax: Any) -> None:
    handles = [patches.Patch(facecolor=LAYER_COLORS[c], edgecolor="#3b2a1a", label=f"{c} layer")
               for c in V.COLORS]
    handles.append(patches.Circle((0, 0), 1, facecolor=CHERRY_COLOR, label="cherry"))
    handles.append(patches.Patch(facecolor="none", edgecolor="#9a9a9a", linestyle=":",
                                 label="stack taken"))
    ax.legend(handles=handles, loc="lower left", fontsize=8, frameon=True, ncol=2,
              bbox_to_anchor=(0.0, 0.0))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
