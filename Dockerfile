# hrm-bot in a container: `docker compose up -d` (README, "Running it in Docker").
#
# Three stages, so that what runs holds neither pip, nor a build tool, nor the source tree:
#   build    installs the exact versions of requirements.lock into a venv and trims it;
#   runtime  the same Python image without its pip, setuptools and other unused parts, plus
#            the venv, the user and /data;
#   final    runtime's files as one layer, from scratch: files removed by a layer of their own
#            would still weigh in the layers below. This keeps the image under the 250 MB
#            that the issue sets (.ci/docker-check measures it where Docker runs).
# One base for all stages: the venv's python is the base's /usr/local/bin/python.
ARG PYTHON_IMAGE=python:3.11.13-slim-trixie

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY pyproject.toml requirements.lock README.md LICENSE ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
# As the Makefile installs: the lock's pip first (--build-constraint needs 25.3), then the
# project, not editable and without the dev extra, every version (setuptools of the build
# included) from the lock. Every dependency has a wheel, so nothing is compiled.
RUN python -m venv /opt/hrm-bot \
    && /opt/hrm-bot/bin/python -m pip install --quiet --constraint requirements.lock pip \
    && /opt/hrm-bot/bin/python -m pip install --quiet --no-compile \
        --constraint requirements.lock --build-constraint requirements.lock . \
    && /opt/hrm-bot/bin/python -m pip uninstall --quiet --yes pip setuptools
# What the bot never loads, about 80 MB of the venv's 225:
# - test suites and typing stubs;
# - Babel's data for the languages that are not ours: it reads our .po files, which load the
#   data of their own language (and root, which every language falls back to);
# - fontTools' optional compiled speed-ups: each has its .py module beside it, which Python
#   then imports (what fontTools' own pure-Python wheel holds); matplotlib needs fontTools
#   only for PDF, PostScript and SVG, never for our PNG.
# No .pyc is kept from the install (--no-compile): the runtime stage writes those that
# `hrm-bot health` needs, and the chart's libraries are compiled in memory once, at the
# first /stats after a start (a few seconds of CPU).
RUN site=/opt/hrm-bot/lib/python3.11/site-packages \
    && find "$site/numpy" "$site/matplotlib" "$site/mpl_toolkits" -depth -type d -name tests \
        -exec rm -rf {} + \
    && find "$site" -name '*.pyi' -delete \
    && find "$site/babel/locale-data" -type f ! -name root.dat ! -name en.dat \
        ! -name 'en_*.dat' ! -name fa.dat ! -name 'fa_*.dat' -delete \
    && find "$site/fontTools" -name '*.so' -delete \
    && find /opt/hrm-bot -name __pycache__ -type d -prune -exec rm -rf {} +

FROM ${PYTHON_IMAGE} AS runtime
# The system site-packages holds only pip, setuptools and wheel: the bot runs from its venv,
# and nothing in the container installs packages. IDLE, Tk, lib2to3 and ensurepip's bundled
# wheels are never used either.
RUN rm -rf /usr/local/lib/python3.11/site-packages/* /usr/local/lib/python3.11/ensurepip \
        /usr/local/lib/python3.11/idlelib /usr/local/lib/python3.11/tkinter \
        /usr/local/lib/python3.11/turtledemo /usr/local/lib/python3.11/lib2to3 \
        /usr/local/lib/python3.11/lib-dynload/_tkinter* /usr/local/include \
        /usr/local/bin/pip* /usr/local/bin/idle* /usr/local/bin/2to3* \
    && groupadd --system --gid 10001 hrmbot \
    && useradd --system --uid 10001 --gid hrmbot --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin hrmbot \
    && mkdir /data && chown hrmbot:hrmbot /data && chmod 0750 /data
COPY --from=build /opt/hrm-bot /opt/hrm-bot
# The official image ships no .pyc, and a read-only container cannot write them: without
# these, every health check (once a minute) would compile its imports again, about a second
# of CPU. They are written for exactly the modules the command imports, the standard
# library's included, and trusted without a look at the source's time (unchecked-hash), so
# that no copy between stages can make them stale.
RUN /opt/hrm-bot/bin/python -c "import sys, py_compile, bot.cli; \
[py_compile.compile(m.__file__, doraise=True, \
    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH) \
 for m in list(sys.modules.values()) if (getattr(m, '__file__', None) or '').endswith('.py')]" \
    && /opt/hrm-bot/bin/hrm-bot --version

FROM scratch
COPY --from=runtime / /
ENV PATH=/opt/hrm-bot/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATABASE_PATH=/data/hrm-bot.sqlite3
USER 10001:10001
# Relative paths (`hrm-bot backup copy.sqlite3`, `export --output`, `stats --chart`) land on
# the volume, the one place the bot may write besides /tmp.
WORKDIR /data
VOLUME ["/data"]
# `hrm-bot health` fails when an edition's last successful poll is older than
# 10 x POLL_INTERVAL (10 minutes by default). The bot polls as soon as Telegram answers;
# 5 minutes cover a slow start (Telegram retried for two minutes, a poll falling back from
# the REST API to the feed). Three failed checks a minute apart make the container unhealthy.
HEALTHCHECK --interval=60s --timeout=20s --start-period=5m --retries=3 \
    CMD ["hrm-bot", "health"]
# Exec form: hrm-bot is PID 1 and gets the SIGTERM of `docker stop` itself, which stops it
# cleanly (exit code 0).
ENTRYPOINT ["hrm-bot"]
CMD ["run"]
