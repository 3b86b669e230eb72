// A failed HTTP answer in words a user can act on: the server's problem details (RFC 7807) when it sent
// them, the first line of its body otherwise. Kept free of JupyterLab imports so the unit tests load it.

/** "404 Not Found: <detail>", from problem details when the server sent them, else the body's first line. */
export async function describeFailure(response: Response): Promise<string> {
  const head = `${response.status} ${response.statusText}`.trim();
  const text = await response.text().catch(() => '');
  try {
    const problem = JSON.parse(text) as { title?: string; detail?: string };
    const words = [problem.title, problem.detail].filter(Boolean).join(': ');
    if (words) {
      return `${head}: ${words}`;
    }
  } catch {
    // Not JSON: fall through to the raw text.
  }
  const line = text.split('\n')[0].trim();
  return line ? `${head}: ${line.slice(0, 200)}` : head;
}
