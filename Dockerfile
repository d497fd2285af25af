# Image for the project's own services in docker-compose.yml (api, consumer).
FROM node:24-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=optional
COPY . .
USER node
