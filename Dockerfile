# syntax=docker/dockerfile:1
#
# seqserve container image.
#
#   docker build -t seqserve .
#   docker run --rm -p 3000:3000 -v seqserve-data:/data seqserve
#
# Three stages, all on the same base so the native addon is compiled against the exact
# Node ABI that runs it:
#   deps     production node_modules; better-sqlite3 compiled from source (toolchain here only)
#   build    dev dependencies + tsc -> dist/ (no native build needed: tsc only reads types)
#   runtime  slim base + production node_modules + dist/ + migrations/ + ui/, non-root, no compilers

# Node 26 is the Active LTS line (LTS since 2026-10-28); better-sqlite3 12 supports it.
ARG NODE_IMAGE=node:26-bookworm-slim

# ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps

# better-sqlite3 has no prebuilt binary we can reach, so node-gyp builds it. nodedir points
# node-gyp at the headers that ship in the image instead of downloading them.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local

WORKDIR /app
COPY package.json package-lock.json ./
# After the compile only build/Release/better_sqlite3.node is needed: object files, the
# static SQLite library and the amalgamation sources are ~27 MB of build inputs. Loading
# the addon once here fails the build, not the first request, if the compile went wrong.
RUN npm ci --omit=dev --no-audit --no-fund \
    && cd node_modules/better-sqlite3 \
    && find build -mindepth 1 -not -path build/Release -not -path build/Release/better_sqlite3.node -delete \
    && rm -rf deps src \
    && node -e "new (require('better-sqlite3'))(':memory:').prepare('select sqlite_version()').pluck().get()"

# ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build

WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the compiler only needs type declarations, so skip compiling
# better-sqlite3 a second time (the runtime takes its copy from the deps stage).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

LABEL org.opencontainers.image.title="seqserve" \
      org.opencontainers.image.description="Train and serve small sequence models (RNN, LSTM, GRU)" \
      org.opencontainers.image.licenses="MIT"

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_PATH=/data/seqserve.db

WORKDIR /app

# The app reads migrations/ and the dashboard's files (ui/: plain ES modules and CSS, no
# build step) next to package.json at runtime, and package.json carries
# "type": "module". Files stay root-owned so the server cannot rewrite its own code.
COPY package.json package-lock.json ./
COPY migrations ./migrations
COPY ui ./ui
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# The database (plus its -wal/-shm files) lives in /data, owned by the unprivileged
# `node` user (uid 1000) of the base image. Created before VOLUME so a fresh named
# volume inherits this ownership.
RUN mkdir -p /data && chown 1000:1000 /data
VOLUME ["/data"]

# Numeric so orchestrators enforcing runAsNonRoot can verify it (1000 = `node`).
USER 1000:1000

EXPOSE 3000

# Liveness only; /readyz is for load balancers. Node's fetch, so no curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# Exec form: node is PID 1 and receives SIGTERM directly; main.ts closes the server,
# checkpoints running jobs and exits. Training runs in worker threads, not child
# processes, so there are no zombies for an init to reap.
CMD ["node", "dist/src/main.js"]
