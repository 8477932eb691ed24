// Hover thumbnails use the shared pure PNG codec (the extension host loads no native addons).
export * from '../core/io/png';
