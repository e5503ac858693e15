// The preset playbooks of the repository (playbooks/*.toml), bundled with the console: the
// server's API does not expose them. Each is its own small chunk, loaded when chosen.
const files = import.meta.glob<string>('../../../../playbooks/*.toml', { query: '?raw', import: 'default' });

export interface Preset {
  name: string; // the file's name without .toml, e.g. "learning-camp"
  load: () => Promise<string>;
}

export const presets: Preset[] = Object.entries(files)
  .map(([file, load]) => ({ name: file.replace(/^.*\//, '').replace(/\.toml$/, ''), load }))
  .sort((a, b) => a.name.localeCompare(b.name));

// The preset for community `slug`: its [community] slug line rewritten (the server refuses a
// playbook naming another community).
export function forCommunity(toml: string, slug: string): string {
  const lines = toml.split('\n');
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const header = /^\s*\[([^\]]+)\]\s*(#.*)?$/.exec(lines[i]);
    if (header) section = header[1].trim();
    else if (section === 'community' && /^\s*slug\s*=/.test(lines[i])) {
      lines[i] = `slug = ${JSON.stringify(slug)}`;
      break;
    }
  }
  return lines.join('\n');
}
