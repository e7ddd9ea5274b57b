import { defineMiddlewares, validateAndTransformBody } from "@medusajs/framework/http"

import { CjDataUpdate } from "../lib/cj-data"

export default defineMiddlewares({
  routes: [
    {
      matcher: "/admin/cj-fulfillment/fulfillments/:id/cj-data",
      methods: ["POST"],
      middlewares: [validateAndTransformBody(CjDataUpdate)],
    },
  ],
})
