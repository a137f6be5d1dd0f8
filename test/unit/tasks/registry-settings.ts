// The playbook's registry section as the config loader resolves it, for unit tests of the tasks.
export const registrySettings = {
  address: 'master:5000',
  addressHost: 'master',
  addressPort: 5000,
  image: 'registry:2',
  name: 'registry',
  port: 5000,
  restart: 'always',
  dataDir: '/var/lib/regbook/registry',
  deleteEnabled: true,
  env: {},
};
