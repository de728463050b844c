// The keys the user typed, kept in sessionStorage only: gone when the tab closes, never sent
// anywhere but this gateway's own API.

const API_KEY = "openresponses.apiKey";
const ADMIN_KEY = "openresponses.adminKey";

export const session = {
  get apiKey() { return sessionStorage.getItem(API_KEY) || ""; },
  get adminKey() { return sessionStorage.getItem(ADMIN_KEY) || ""; },
  set(apiKey, adminKey) {
    if (apiKey) sessionStorage.setItem(API_KEY, apiKey); else sessionStorage.removeItem(API_KEY);
    if (adminKey) sessionStorage.setItem(ADMIN_KEY, adminKey);
    else sessionStorage.removeItem(ADMIN_KEY);
  },
  clear() { sessionStorage.removeItem(API_KEY); sessionStorage.removeItem(ADMIN_KEY); },
};

/** The last characters of a key, enough to tell keys apart. */
export function masked(key) {
  return key ? `…${key.slice(-4)}` : "none";
}
