import { defineConfig, loadEnv } from "@medusajs/framework/utils"

loadEnv(process.env.NODE_ENV || "development", process.cwd())

/**
 * The store of the end-to-end test (run-store.sh sets every variable). A new store's
 * medusa-config.ts needs the same `plugins` and `modules` entries; see the repository README.
 */
const cjFulfillment = {
  baseUrl: process.env.CJ_FULFILLMENT_URL,
  apiKey: process.env.CJ_FULFILLMENT_API_KEY,
}

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
  plugins: [{ resolve: "medusa-fulfillment-cj", options: cjFulfillment }],
  modules: [
    {
      resolve: "@medusajs/medusa/fulfillment",
      options: {
        providers: [
          { resolve: "@medusajs/medusa/fulfillment-manual", id: "manual" },
          {
            resolve: "medusa-fulfillment-cj/providers/cj",
            id: "cj",
            options: {
              ...cjFulfillment,
              timeoutMs: Number(process.env.CJ_PROVIDER_TIMEOUT_MS || 5000),
              fallbackAmounts: { "us-standard": { usd: 7.95 } },
            },
          },
        ],
      },
    },
  ],
})
