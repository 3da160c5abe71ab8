/**
 * Output file names: the one implementation lives with the output options
 * in the backend's contract (the server's ZIP names files with it too); this
 * module keeps the desktop's imports working. No zod either way: the
 * renderer bundles it.
 */
export {
  batchIndex,
  DEFAULT_NAMING_TEMPLATE,
  FORMAT_EXTENSIONS,
  NAMING_TOKENS,
  renderName,
  splitName,
  templateProblem,
  type NamedFormat,
  type NamingToken,
  type NamingValues,
} from '@imgfleet/backend/contract/naming-template';
