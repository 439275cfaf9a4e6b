#!/usr/bin/env bash
# Starts/stops the vLLM OpenAI server for deepconf-safety on a GPU host.
#   bash serve.sh up | down | logs [lines] | status
# Settings come from ./.env (see .env.example); deploy:lambda writes that file over ssh with mode 600.
set -euo pipefail
cd "$(dirname "$0")"
if [ -f .env ]; then set -a; . ./.env; set +a; fi

# Pinned: `latest` moves and changes defaults between releases. Keep in sync with compose.yaml and deploy/src/deploy.ts.
VLLM_IMAGE="${VLLM_IMAGE:-vllm/vllm-openai:v0.11.0}"
CONTAINER_NAME="${CONTAINER_NAME:-deepconf-vllm}"
VLLM_PORT="${VLLM_PORT:-8000}"
HF_CACHE="${HF_CACHE:-$HOME/.cache/huggingface}"

case "${1:-}" in
  up)
    : "${MODEL:?set MODEL (Hugging Face id) in .env}"
    : "${VLLM_API_KEY:?set VLLM_API_KEY in .env: the server must not run without a key}"
    args=(
      --model "$MODEL"
      --served-model-name "${SERVED_MODEL_NAME:-$MODEL}"
      --host 0.0.0.0 --port 8000
      --max-model-len "${MAX_MODEL_LEN:-16384}"
      --gpu-memory-utilization "${GPU_MEMORY_UTILIZATION:-0.90}"
      # DeepConf needs the exact top-20 set of every token; over chat that takes top_logprobs = 21
      # (k + the sampled token), one more than vLLM's default cap of 20.
      --max-logprobs "${MAX_LOGPROBS:-21}"
      --enable-prefix-caching
      --tensor-parallel-size "${TENSOR_PARALLEL_SIZE:-1}"
      --data-parallel-size "${DATA_PARALLEL_SIZE:-1}"
    )
    if [ -n "${REASONING_PARSER:-}" ]; then args+=(--reasoning-parser "$REASONING_PARSER"); fi
    mkdir -p "$HF_CACHE"
    docker rm -f "$CONTAINER_NAME" >/dev/null 2>&1 || true
    docker pull --quiet "$VLLM_IMAGE"
    # The key reaches vLLM as the VLLM_API_KEY environment variable (vLLM's equivalent of --api-key),
    # so it never appears in `ps` or `docker inspect` Args. -p binds the host's loopback only:
    # clients come through an SSH tunnel, never an open port.
    docker run -d --name "$CONTAINER_NAME" \
      --gpus all --ipc=host --restart unless-stopped \
      -p "127.0.0.1:${VLLM_PORT}:8000" \
      -v "${HF_CACHE}:/root/.cache/huggingface" \
      -e HF_TOKEN -e VLLM_API_KEY \
      --health-cmd 'python3 -c "import urllib.request; urllib.request.urlopen(\"http://127.0.0.1:8000/health\", timeout=5)"' \
      --health-interval 30s --health-timeout 10s --health-retries 3 --health-start-period 20m \
      "$VLLM_IMAGE" "${args[@]}" >/dev/null
    echo "started $CONTAINER_NAME ($MODEL) on 127.0.0.1:${VLLM_PORT}"
    ;;
  down)
    docker rm -f "$CONTAINER_NAME" >/dev/null 2>&1 || true
    echo "stopped $CONTAINER_NAME"
    ;;
  logs)
    docker logs --tail "${2:-200}" "$CONTAINER_NAME" 2>&1
    ;;
  status)
    docker inspect --format '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$CONTAINER_NAME"
    ;;
  *)
    echo "usage: bash serve.sh up|down|logs [lines]|status" >&2
    exit 2
    ;;
esac
