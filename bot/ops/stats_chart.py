"""The /stats chart: reports per month by top-level category for each edition, and alerts
sent per day, as one PNG made for a phone's screen.

Pure: figures in, PNG bytes out, no I/O. It draws on its own ``matplotlib.figure.Figure``
(never pyplot's global state), so it may run in a worker thread (``asyncio.to_thread``)
while the event loop goes on. matplotlib is imported on the first call, in that thread: a
bot or a command that never draws pays nothing for it.

Labels: the chart's own words are English; category names are the site's own, so Persian
for the Persian edition. matplotlib 3.11 lays text out with libraqm (HarfBuzz and a bidi
algorithm), so Persian comes out joined and right to left with its bundled DejaVu Sans,
which has the Arabic script's letters: no arabic-reshaper or python-bidi needed.
"""

from __future__ import annotations

import atexit
import io
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from storage.figures import DailyAlerts, MonthlyPosts

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_PX = 1080  # a phone's screen: Telegram shows it at full width
DPI = 100
TOP = 5  # categories named in each edition's panel; the rest are "Other"
# Okabe and Ito's colours, told apart with any colour vision; grey for "Other".
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9")
OTHER_COLOUR = "#9A9A9A"
ALERT_COLOUR = "#0072B2"
TITLE_SIZE = 26
LABEL_SIZE = 20
TICK_SIZE = 18
LEGEND_SIZE = 18
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
NOTHING_YET = "Nothing stored yet"

_setup = threading.Lock()


def render_png(
    monthly: MonthlyPosts,
    daily: DailyAlerts,
    editions: Sequence[tuple[str, str]],
    *,
    top: int = TOP,
) -> bytes:
    """The chart as PNG bytes. ``editions``: (site, name to show), in the order to show them;
    a site missing from ``monthly`` shows as empty. With no report stored in any of them, a
    picture that says there is nothing yet."""
    figure_class = _matplotlib()
    if not any(monthly.stored.get(site, 0) for site, _name in editions):
        return _png(_nothing_yet(figure_class))
    heights = [5.2] * len(editions) + [4.4]
    fig = figure_class(
        figsize=(WIDTH_PX / DPI, sum(heights)), dpi=DPI, layout="constrained", facecolor="white"
    )
    axes = fig.subplots(len(heights), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (site, name) in zip(axes[:, 0], editions, strict=False):
        _monthly_panel(ax, monthly, site, name, top)
    _daily_panel(axes[-1, 0], daily)
    return _png(fig)


def _matplotlib() -> type[Figure]:
    """Import matplotlib once, after pointing its config and font cache away from the home
    folder (unless MPLCONFIGDIR says where): a service's user may have none, or none it can
    write, and matplotlib then warns on every start. Ours lasts as long as the process, which
    builds its font cache there once (a fraction of a second)."""
    with _setup:
        if not os.environ.get("MPLCONFIGDIR"):
            folder = tempfile.mkdtemp(prefix="hrm-bot-matplotlib-")
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            os.environ["MPLCONFIGDIR"] = folder
        os.environ.setdefault("MPLBACKEND", "Agg")
        # Its INFO line on building the font cache would come with every start of the bot.
        quiet = logging.getLogger("matplotlib")
        if quiet.level == logging.NOTSET:
            quiet.setLevel(logging.WARNING)
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

    return Figure


def _png(fig: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    out = io.BytesIO()
    # No "Software" entry: the same figures give the same bytes.
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _nothing_yet(figure_class: type[Figure]) -> Figure:
    fig = figure_class(figsize=(WIDTH_PX / DPI, 6.0), dpi=DPI, facecolor="white")
    fig.text(0.5, 0.56, NOTHING_YET, ha="center", va="center", fontsize=44, color="#333333")
    fig.text(
        0.5,
        0.38,
        "The chart fills as reports are stored.",
        ha="center",
        va="center",
        fontsize=LABEL_SIZE + 4,
        color="#666666",
    )
    return fig


def _style(ax: Axes) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    ax.tick_params(labelsize=TICK_SIZE, length=0, pad=8)
    ax.grid(axis="y", color="#DDDDDD", linewidth=1.2)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#888888")
    ax.margins(x=0.01)


def _titles(ax: Axes, title: str, subtitle: str) -> None:
    """A bold title, with a line under it in grey: both on the left, one above the other, so
    that a long edition name never runs into the figures."""
    ax.set_title(title, loc="left", fontsize=TITLE_SIZE, fontweight="bold", pad=48)
    ax.annotate(
        subtitle,
        xy=(0, 1),
        xycoords="axes fraction",
        xytext=(0, 14),
        textcoords="offset points",
        ha="left",
        va="bottom",
        fontsize=LABEL_SIZE,
        color="#555555",
    )


def _note(ax: Axes, text: str) -> None:
    """A panel with nothing to show says so instead of an empty frame."""
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=LABEL_SIZE + 2,
        color="#666666",
    )


def _month_label(month: str, first: bool) -> str:
    year, number = month.split("-")
    name = MONTHS[int(number) - 1]
    return f"{name}\n{year}" if first or number == "01" else name


def _monthly_panel(ax: Axes, monthly: MonthlyPosts, site: str, name: str, top: int) -> None:
    _style(ax)
    reports = sum(monthly.reports.get(site, ()))
    _titles(
        ax,
        name,
        f"Reports a month by section: {reports:,} in {len(monthly.months)} months",
    )
    x = list(range(len(monthly.months)))
    ax.set_xticks(x, [_month_label(m, i == 0) for i, m in enumerate(monthly.months)])
    rows = monthly.counts.get(site, {})
    if not any(sum(row) for row in rows.values()):
        ax.bar(x, [0] * len(x))
        _note(ax, f"No reports published in these {len(monthly.months)} months")
        return
    # The categories with most reports each have a colour; "Other" has the rest and the
    # reports of no known category.
    named = [(cat, row) for cat, row in rows.items() if cat is not None]
    top = min(top, len(COLOURS))
    shown = named[:top]
    rest = [row for _cat, row in named[top:]] + [row for cat, row in rows.items() if cat is None]
    series = [(cat.name, row, COLOURS[i]) for i, (cat, row) in enumerate(shown)]
    if rest:
        other = tuple(sum(col) for col in zip(*rest, strict=True))
        series.append(("Other", other, OTHER_COLOUR))
    bottom = [0] * len(x)
    for label, row, colour in series:
        ax.bar(x, row, bottom=bottom, width=0.72, color=colour, label=label)
        bottom = [b + n for b, n in zip(bottom, row, strict=True)]
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.22),
        ncols=2,
        fontsize=LEGEND_SIZE,
        frameon=False,
        handlelength=1.2,
        columnspacing=1.5,
    )


def _daily_panel(ax: Axes, daily: DailyAlerts) -> None:
    _style(ax)
    total = sum(daily.sent)
    _titles(ax, "Alerts sent a day", f"{total:,} in {len(daily.days)} days (UTC)")
    x = list(range(len(daily.days)))
    ax.bar(x, daily.sent, width=0.75, color=ALERT_COLOUR)
    # Today and every seventh day before it.
    ticks = list(range(len(x) - 1, -1, -7))[::-1]
    ax.set_xticks(ticks, [_day_label(daily.days[i]) for i in ticks])
    if not total:
        _note(ax, f"No alerts sent in these {len(daily.days)} days")


def _day_label(day: str) -> str:
    when = date.fromisoformat(day)
    return f"{MONTHS[when.month - 1]} {when.day}"
