#!/usr/bin/env bash
# A throwaway real WordPress for test_real_wordpress.py, on loopback only:
#   its own MariaDB (127.0.0.1:$DB_PORT, data in $ROOT/db) and `php -S 127.0.0.1:$WP_PORT`.
# Needs the Debian packages wordpress, php-cli, php-mysql and mariadb-server (no Apache is started).
# Prints the env vars for the test; stop it with: kill $(cat $ROOT/mysqld.pid) $(cat $ROOT/php.pid)
set -euo pipefail
ROOT=${SPLANTS_WP_ROOT:-/tmp/splants_wp}
DB_PORT=${SPLANTS_WP_DB_PORT:-33071}
WP_PORT=${SPLANTS_WP_PORT:-8089}
mkdir -p "$ROOT"
cd "$ROOT"

if [ ! -d db/mysql ]; then
  mkdir -p db
  mariadb-install-db --no-defaults --datadir="$ROOT/db" --user="$(id -un)" --auth-root-authentication-method=normal >install_db.log
fi
setsid mariadbd --no-defaults --datadir="$ROOT/db" --socket="$ROOT/mysqld.sock" --port="$DB_PORT" \
  --bind-address=127.0.0.1 --user="$(id -un)" --pid-file="$ROOT/mysqld.pid" --skip-name-resolve >mariadbd.log 2>&1 &
for _ in $(seq 60); do [ -S "$ROOT/mysqld.sock" ] && break; sleep 1; done
mariadb --no-defaults -S "$ROOT/mysqld.sock" -uroot -e "CREATE DATABASE IF NOT EXISTS wp;
  CREATE USER IF NOT EXISTS 'wp'@'127.0.0.1' IDENTIFIED BY 'wp-local-only';
  GRANT ALL ON wp.* TO 'wp'@'127.0.0.1'; FLUSH PRIVILEGES;"

if [ ! -d site ]; then
  cp -rL /usr/share/wordpress site
fi
cat >site/wp-config.php <<EOF
<?php
// A throwaway local WordPress for splants tests: loopback only.
define('DB_NAME', 'wp'); define('DB_USER', 'wp'); define('DB_PASSWORD', 'wp-local-only');
define('DB_HOST', '127.0.0.1:$DB_PORT'); define('DB_CHARSET', 'utf8mb4'); define('DB_COLLATE', '');
define('WP_HOME', 'http://127.0.0.1:$WP_PORT'); define('WP_SITEURL', 'http://127.0.0.1:$WP_PORT');
define('WP_ENVIRONMENT_TYPE', 'local');  // application passwords over plain http on loopback
foreach (['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT',
          'LOGGED_IN_SALT', 'NONCE_SALT'] as \$k) { define(\$k, 'local-' . \$k); }
define('WP_CONTENT_DIR', __DIR__ . '/wp-content');
define('DISABLE_WP_CRON', true); define('AUTOMATIC_UPDATER_DISABLED', true);
\$table_prefix = 'wp_';
if (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
EOF
cat >router.php <<'EOF'
<?php
// php -S router: real files as they are, everything else through WordPress (pretty permalinks, /wp-json/)
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if ($path !== '/' && is_file(__DIR__ . '/site' . $path)) { return false; }
$_SERVER['SCRIPT_NAME'] = '/index.php';
chdir(__DIR__ . '/site');
require __DIR__ . '/site/index.php';
EOF
cat >install.php <<EOF
<?php
// wp_install, pretty permalinks and a fresh application password for the user splants
\$_SERVER['HTTP_HOST'] = '127.0.0.1:$WP_PORT'; \$_SERVER['REQUEST_URI'] = '/';
define('WP_INSTALLING', true);
require __DIR__ . '/site/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
if (!is_blog_installed()) {
    wp_install('Hearth & Bean test blog', 'splants', 'splants@example.com', false, '', wp_generate_password(24));
}
update_option('permalink_structure', '/%postname%/');
flush_rewrite_rules();
\$user = get_user_by('login', 'splants');
[\$password] = WP_Application_Passwords::create_new_application_password(\$user->ID, ['name' => 'splants-' . time()]);
echo \$password, "\n";
EOF
php install.php 2>install.err | head -1 >app_password.txt
setsid php -S "127.0.0.1:$WP_PORT" router.php >php_server.log 2>&1 &
echo $! >php.pid
for _ in $(seq 30); do curl -sf "http://127.0.0.1:$WP_PORT/wp-json/" >/dev/null && break; sleep 1; done
echo "SPLANTS_TEST_WORDPRESS_URL=http://127.0.0.1:$WP_PORT SPLANTS_TEST_WORDPRESS_USERNAME=splants" \
  "SPLANTS_TEST_WORDPRESS_APP_PASSWORD=\"\$(cat $ROOT/app_password.txt)\""
