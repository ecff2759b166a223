/**
 * OAuth 2.1: protected-resource metadata and token checks for the servers, client credentials
 * for the machines that call them.
 * @module
 */
export * from "./client_credentials.ts";
export * from "./machine.ts";
export * from "./resource.ts";
