# The EntertainAI image for KubeRay (deployments/kuberay/rayservice.yaml) and cluster.yaml.
#   docker build -t entertainai:0.1.0 .
# Same Python and Ray as the pins in pyproject.toml. For GPU worker groups build with
#   --build-arg BASE=rayproject/ray:2.60.0-py311-gpu --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128
ARG BASE=rayproject/ray:2.60.0-py311-cpu
FROM ${BASE}

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    RAY_USAGE_STATS_ENABLED=0 \
    RAY_AUTH_MODE=token

WORKDIR /home/ray/entertainai

# Dependencies first: this layer is rebuilt only when the pins change.
COPY --chown=ray:users pyproject.toml README.md ./
RUN mkdir -p entertainai train tune deployments \
 && touch entertainai/__init__.py train/__init__.py tune/__init__.py deployments/__init__.py \
 && pip install --extra-index-url "${TORCH_INDEX}" . \
 && pip uninstall -y entertainai

# The code: Serve's import_path (deployments.app:build_app) and `python -m train.<job>`.
COPY --chown=ray:users entertainai ./entertainai
COPY --chown=ray:users train ./train
COPY --chown=ray:users tune ./tune
COPY --chown=ray:users deployments ./deployments
COPY --chown=ray:users cluster.yaml Makefile ./
RUN pip install --no-deps . \
 && python -c "import deployments.app, train.recommender, entertainai.cli.main"

# The base image runs as the unprivileged `ray` user; KubeRay supplies the `ray start` command.
USER ray
EXPOSE 6379 8265 10001 8000 8080
