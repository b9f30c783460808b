# adcbridge: the production image.
#
#   make image        (podman, else docker: fills the wheelhouse, builds the bases, then this file)
#
#   docker buildx build --build-context wheelhouse=build/wheelhouse \
#       --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" -t adcbridge:0.1.0 .
#   docker run --read-only --tmpfs /tmp --cap-drop ALL -p 9102:9102 \
#       -v "$PWD/config.yaml:/etc/adcbridge/config.yaml:ro" adcbridge:0.1.0 --config /etc/adcbridge/config.yaml
#
# Two stages. "build" has pip and the sources; the final stage receives only the finished virtual
# environment and its byte code, so no sources, no pip or setuptools and no build cache reach the
# image that runs. It is made for the Helm chart's pod: readOnlyRootFilesystem, runAsNonRoot, every
# capability dropped, an emptyDir at /tmp. tests/test_dockerfile.py checks this file without a
# Docker engine (hadolint, the rules of the security review, and that the files the build stage
# copies, after .dockerignore, are enough to build the wheel); tests/test_image.py runs the image
# that make image builds, as the chart runs it.
#
# The build needs no network (make image builds with --network=none): every Python package comes
# from the wheelhouse, a second build context that make fills on the host with
# pip download --require-hashes from the locks in config/image/ (pip and setuptools, the only build tools,
# are locked there too). It is mounted in the build stage only, so no wheel reaches the image.

# The bases, one for each stage. The byte code compiled in "build" is valid only for one
# interpreter and one standard library, so both must carry the same Python: by default the same
# official image, a patch release rather than 3.11-slim so that a rebuild never changes Python
# unseen. Where the registry's digests can be reviewed (Renovate, say), pin the digest as well:
# python:3.11.16-slim-bookworm@sha256:... make image builds its own pair from Debian's packages
# instead (config/image/README.md): the build base with python3 and python3-venv, the runtime base with
# python3-minimal and the standard library only, both from one Debian mirror and suite.
ARG BUILD_IMAGE=python:3.11.16-slim-bookworm
ARG RUNTIME_IMAGE=python:3.11.16-slim-bookworm

FROM ${BUILD_IMAGE} AS build

# No byte code from the import system in this stage: compileall below writes all of it, in one
# mode (a stray timestamp-based .pyc would count as up to date and be kept as it is).
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# Only what setuptools reads: pyproject.toml, the README it names as the long description, and the
# packages it finds (adcbridge; mocks too, since pyproject declares their console scripts and a
# wheel without them would install broken ones); then the locks and the script that takes mocks
# out again. .dockerignore lets nothing else into the context.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY adcbridge ./adcbridge
COPY mocks ./mocks
COPY config/image/requirements.txt config/image/build-requirements.txt config/image/prune_distribution.py ./image/

# pip runs from its own locked wheel (pip-*.whl/pip is a runnable path), never the base image's,
# and installs into the service's environment from outside it (--python), so the environment
# holds the service and its dependencies and nothing else: no pip, no setuptools.
# --require-hashes: every file is the one its lock names. The build tools (pip, setuptools) are
#   checked first and set apart; the dependencies are installed as wheels only (--only-binary).
# The project itself is built from /src in an isolated environment that can only reach the
#   checked setuptools (--no-index), and installed without dependencies.
# --no-compile: the next step writes the byte code.
# prune_distribution.py then removes the mocks package and its console scripts: they share the
#   wheel with the service (one editable install for developers) but have no place in production.
# The wheelhouse is a mount, not a COPY: the locks copied above are what the layer cache keys on.
RUN --mount=type=bind,from=wheelhouse,target=/wheels \
    pip="$(find /wheels -name 'pip-*.whl')/pip" \
    && python3 "$pip" download --quiet --no-index --find-links /wheels --require-hashes --no-deps \
        --dest /tmp/build-tools -r /src/image/build-requirements.txt \
    && python3 -m venv --without-pip /opt/adcbridge \
    && python3 "$pip" --python /opt/adcbridge/bin/python install --quiet --no-cache-dir --no-compile \
        --no-index --find-links /wheels --require-hashes --only-binary=:all: --no-deps \
        -r /src/image/requirements.txt \
    && python3 "$pip" --python /opt/adcbridge/bin/python install --quiet --no-cache-dir --no-compile \
        --no-index --find-links /tmp/build-tools --no-deps /src \
    && /opt/adcbridge/bin/python /src/image/prune_distribution.py adcbridge mocks

# Byte code, compiled here because the root filesystem is read-only at run time: without it every
# start compiles everything in memory again (measured: importing the service takes 2.7 s of CPU
# without byte code, 0.7 s with it, and a pod's CPU limit stretches that). That includes the
# standard library, whose .pyc files the python images delete.
# The .pyc files go to a tree of their own (PYTHONPYCACHEPREFIX, set again in the final stage),
# so the final stage can take the standard library's byte code without a second copy of its sources.
# checked-hash: a .pyc is valid by the hash of its source, not its mtime, so byte code survives
# builders that rewrite timestamps (SOURCE_DATE_EPOCH) and is never used for a changed source.
# -x: the base image's own site-packages (pip, setuptools) are not on the service's path.
RUN PYTHONPYCACHEPREFIX=/opt/pycache python3 -m compileall -q -f -j 0 --invalidation-mode checked-hash \
        -x '/site-packages/' "$(python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')" \
    && PYTHONPYCACHEPREFIX=/opt/pycache python3 -m compileall -q -f -j 0 --invalidation-mode checked-hash \
        /opt/adcbridge/lib


FROM ${RUNTIME_IMAGE}

# The release, from the build (CI passes the tag and commit); the default follows pyproject.toml.
ARG VERSION=0.1.0
ARG REVISION=""
LABEL org.opencontainers.image.title="adcbridge" \
      org.opencontainers.image.description="Keeps a front ADC (DNS names, SLB pools, virtual servers) in step with an OpenNJet Kubernetes Ingress Controller." \
      org.opencontainers.image.source="https://github.com/adcbridge/adcbridge" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

# Owned by root and not writable by the service's user: the code cannot be changed from inside
# the container, even where the root filesystem is writable.
COPY --from=build /opt/adcbridge /opt/adcbridge
COPY --from=build /opt/pycache /opt/pycache

# PYTHONDONTWRITEBYTECODE: nothing tries to write .pyc files into the read-only filesystem.
# PYTHONUNBUFFERED: log lines reach the container runtime at once, not when a buffer fills.
ENV PATH=/opt/adcbridge/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPYCACHEPREFIX=/opt/pycache \
    PYTHONUNBUFFERED=1

# A numeric uid:gid, so that the kubelet can verify runAsNonRoot without an /etc/passwd entry
# (the chart runs as the same ids). None is created: nothing here looks the user up (Python's
# site module does not in a venv; socket.gethostname() asks the kernel), and HOME falls back to /.
USER 10001:10001

# /healthz, /readyz and /metrics: the default of server.listen (adcbridge/config.py); the chart
# names the port. No HEALTHCHECK: Kubernetes ignores it (the chart's probes do this job), and a
# check without a shell could not follow a port moved by --config or ADCBRIDGE_SERVER__LISTEN.
EXPOSE 9102

# The service stops cleanly on SIGTERM (it releases its Lease); as PID 1 it handles the signal
# itself, and it starts no child processes, so no init process is needed.
STOPSIGNAL SIGTERM

# Exec form: no shell at run time (the script's #! line names the venv's python). Arguments such
# as the chart's ["--config", "/etc/adcbridge/config.yaml"] are appended. CMD is emptied
# explicitly: the base image's CMD ["python3"] must never become an argument of "run".
ENTRYPOINT ["/opt/adcbridge/bin/adcbridge", "run"]
CMD []
