/**
 * What the provider tests share: a real Server B in front of a fake provider server, disposed
 * together, and the error body of an answer.
 * @module
 */
import { startTestServerB, type TestServerB } from "../_helpers.ts";

/** A fake provider server and the Server B that uses it. */
export interface ProviderRig<F> extends AsyncDisposable {
  fake: F;
  b: TestServerB;
}

/**
 * Starts Server B with `env` (the provider settings pointing at `fake`); disposing stops both.
 * @example
 * ```ts
 * await using rig = await serverBOver(await startFakeOpenAI(), { AI_PROVIDER: "openai", ... });
 * ```
 */
export async function serverBOver<F extends { close(): Promise<void> }>(
  fake: F,
  env: Record<string, string>,
): Promise<ProviderRig<F>> {
  let b: TestServerB;
  try {
    b = await startTestServerB({ RETRY_ATTEMPTS: "3", TIMEOUT_SECONDS: "10", ...env });
  } catch (error) {
    await fake.close();
    throw error;
  }
  return {
    fake,
    b,
    [Symbol.asyncDispose]: async () => {
      await b.close();
      await fake.close();
    },
  };
}

/** The `{error: {code, message}}` of an answer. */
export async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  const body = await response.json();
  return body.error as { code: string; message: string };
}
