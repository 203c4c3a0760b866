/** The `/` page: Kepler's landing page (kepler-behaviour.md §6.2) with joulemon's name. */
import type { Endpoint } from "./Endpoints.js"

const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

export const landingPage = (endpoints: ReadonlyArray<Pick<Endpoint, "path" | "summary" | "description">>): string =>
  [
    "<!DOCTYPE html>",
    "<html>",
    "<head><title>joulemon (Kepler-compatible)</title></head>",
    "<body>",
    "<h1>joulemon — Kepler Service</h1>",
    "<p>Available endpoints:</p>",
    "<ul>",
    ...endpoints.map(
      (e) => `<li> <a href="${escapeHtml(e.path)}"> ${escapeHtml(e.summary)} </a> ${escapeHtml(e.description)} </li>`
    ),
    "</ul>",
    "</body>",
    "</html>",
    ""
  ].join("\n")
