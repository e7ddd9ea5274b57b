import { defineConfig, loadEnv } from "@medusajs/framework/utils"

loadEnv(process.env.NODE_ENV || "development", process.cwd())

/**
 * The store of the end-to-end test (run-store.sh sets every variable). A new store's
 * medusa-config.ts needs the same `modules` entry; see the repository README.
 */
module.exports = defineConfig({
  projectConfig: {
    databaseUrl: process.env.DATABASE_URL,
    http: {
      storeCors: process.env.STORE_CORS!,
      adminCors: process.env.ADMIN_CORS!,
      authCors: process.env.AUTH_CORS!,
      jwtSecret: process.env.JWT_SECRET!,
      cookieSecret: process.env.COOKIE_SECRET!,
    },
  },
  admin: {
    disable: process.env.MEDUSA_ADMIN !== "true",
  },
  modules: [
    {
      resolve: "@medusajs/medusa/fulfillment",
      options: {
        providers: [
          { resolve: "@medusajs/medusa/fulfillment-manual", id: "manual" },
          {
            resolve: "medusa-fulfillment-cj",
            id: "cj",
            options: {
              baseUrl: process.env.CJ_FULFILLMENT_URL,
              apiKey: process.env.CJ_FULFILLMENT_API_KEY,
              timeoutMs: Number(process.env.CJ_PROVIDER_TIMEOUT_MS || 5000),
              fallbackAmounts: { "us-standard": { usd: 7.95 } },
            },
          },
        ],
      },
    },
  ],
})
