<?php
/**
 * Billing panel: WHMCS provisioning (server) module.
 *
 * Install: copy this folder to <whmcs>/modules/servers/billingpanel/. In WHMCS,
 * add a server of type "Billing Panel" with the panel's address as hostname
 * (https://panel.example.com) and the API key (bp_live_...) as password.
 *
 * Every function takes WHMCS's $params, returns what WHMCS expects ('success'
 * or an error string; arrays for MetaData, ConfigOptions, TestConnection, the
 * button arrays and ClientArea) and never throws. Every call is logged with
 * logModuleCall, the key masked.
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

const BILLINGPANEL_TIMEOUT = 20;

function billingpanel_MetaData()
{
    return [
        'DisplayName' => 'Billing Panel',
        'APIVersion' => '1.1',
        'RequiresServer' => true,
        'DefaultNonSSLPort' => '80',
        'DefaultSSLPort' => '443',
    ];
}

function billingpanel_ConfigOptions()
{
    return [
        'Plan ID' => [
            'Type' => 'text',
            'Size' => '10',
            'Default' => '',
            'Description' => 'The plan id in the panel (GET /api/v1/plans)',
        ],
        'Months' => [
            'Type' => 'text',
            'Size' => '5',
            'Default' => '1',
            'Description' => 'Months bought per order and per renewal',
        ],
    ];
}

/** The panel's base URL from the server fields WHMCS passes. */
function billingpanel_base_url(array $params)
{
    $host = trim((string)($params['serverhostname'] ?? ''));
    if ($host === '') {
        $host = trim((string)($params['serverip'] ?? ''));
    }
    if ($host === '') {
        return '';
    }
    if (!preg_match('#^https?://#i', $host)) {
        $secure = !empty($params['serversecure']) && $params['serversecure'] !== 'off';
        $host = ($secure ? 'https://' : 'http://') . $host;
        if (!empty($params['serverport'])) {
            $host .= ':' . (int)$params['serverport'];
        }
    }
    return rtrim($host, '/') . '/api/v1';
}

function billingpanel_api_key(array $params)
{
    $key = trim((string)($params['serverpassword'] ?? ''));
    if ($key === '') {
        $key = trim((string)($params['serveraccesshash'] ?? ''));
    }
    return $key;
}

function billingpanel_log($action, $request, $response, $processed, array $params)
{
    if (!function_exists('logModuleCall')) {
        return;
    }
    $key = billingpanel_api_key($params);
    logModuleCall('billingpanel', $action, $request, $response, $processed, $key === '' ? [] : [$key]);
}

/**
 * One API call. Returns ['ok' => bool, 'status' => int, 'data' => array|null, 'error' => string].
 * The Idempotency-Key is built from the WHMCS service id, the action and the date, so a
 * retried order or a double click has one effect.
 */
function billingpanel_call(array $params, $action, $method, $path, $body = null)
{
    $base = billingpanel_base_url($params);
    $key = billingpanel_api_key($params);
    if ($base === '' || $key === '') {
        $result = ['ok' => false, 'status' => 0, 'data' => null,
            'error' => 'The server has no panel address or API key: set the hostname and the password (bp_live_...) of the server in WHMCS.'];
        billingpanel_log($action, ['method' => $method, 'path' => $path], '', $result, $params);
        return $result;
    }
    $headers = [
        'Authorization: Bearer ' . $key,
        'Accept: application/json',
        'User-Agent: whmcs-billingpanel/1.0',
    ];
    if ($method !== 'GET') {
        $service = (string)($params['serviceid'] ?? '0');
        $headers[] = 'Idempotency-Key: whmcs-' . $service . '-' . $action . '-' . gmdate('Ymd');
    }
    $payload = null;
    if ($body !== null) {
        $payload = $body === [] ? "{}" : json_encode($body);
        $headers[] = 'Content-Type: application/json';
    }
    $context = stream_context_create([
        'http' => [
            'method' => $method,
            'header' => implode("\r\n", $headers),
            'content' => $payload === null ? '' : $payload,
            'timeout' => BILLINGPANEL_TIMEOUT,
            'ignore_errors' => true,
        ],
    ]);
    $raw = @file_get_contents($base . $path, false, $context);
    $status = 0;
    if (isset($http_response_header) && is_array($http_response_header)) {
        foreach ($http_response_header as $line) {
            if (preg_match('#^HTTP/\S+\s+(\d{3})#', $line, $m)) {
                $status = (int)$m[1];
            }
        }
    }
    if ($raw === false || $status === 0) {
        $result = ['ok' => false, 'status' => 0, 'data' => null,
            'error' => 'The panel cannot be reached at ' . $base . '.'];
    } else {
        $data = json_decode($raw, true);
        if ($status >= 200 && $status < 300) {
            $result = ['ok' => true, 'status' => $status, 'data' => is_array($data) ? $data : [], 'error' => ''];
        } else {
            $message = is_array($data) && isset($data['error']['message'])
                ? $data['error']['message'] . ' (' . ($data['error']['code'] ?? 'error') . ')'
                : 'The panel answered HTTP ' . $status . '.';
            $result = ['ok' => false, 'status' => $status, 'data' => is_array($data) ? $data : null,
                'error' => $message];
        }
    }
    billingpanel_log($action, ['method' => $method, 'url' => $base . $path, 'body' => $body], $raw === false ? '' : $raw, $result, $params);
    return $result;
}

/** The panel's account id for this service: the custom field, else found by username. */
function billingpanel_account_id(array $params)
{
    $fields = $params['customfields'] ?? [];
    if (is_array($fields) && !empty($fields['Panel Account ID'])) {
        return (int)$fields['Panel Account ID'];
    }
    $username = (string)($params['username'] ?? '');
    if ($username === '') {
        return 0;
    }
    $found = billingpanel_call($params, 'FindAccount', 'GET', '/accounts?username=' . rawurlencode($username) . '&limit=1');
    if ($found['ok'] && !empty($found['data']['data'][0]['id'])) {
        return (int)$found['data']['data'][0]['id'];
    }
    return 0;
}

/** Keep the panel's account id and credentials on the WHMCS service. */
function billingpanel_remember(array $params, array $account)
{
    if (!isset($params['model']) || !is_object($params['model'])) {
        return;
    }
    try {
        $values = ['Panel Account ID' => (string)$account['id']];
        if (isset($account['username'])) {
            $values['username'] = $account['username'];
        }
        if (isset($account['password'])) {
            $values['password'] = $account['password'];
        }
        $params['model']->serviceProperties->save($values);
    } catch (\Throwable $e) {
        billingpanel_log('Remember', $account['id'] ?? '', '', $e->getMessage(), $params);
    }
}

/** Run $fn, turning anything thrown into an error string (WHMCS must never see an exception). */
function billingpanel_guard($action, array $params, callable $fn)
{
    try {
        return $fn();
    } catch (\Throwable $e) {
        billingpanel_log($action, '', '', $e->getMessage(), $params);
        return 'Billing panel module error: ' . $e->getMessage();
    }
}

function billingpanel_action(array $params, $action, $path, array $body)
{
    return billingpanel_guard($action, $params, function () use ($params, $action, $path, $body) {
        $id = billingpanel_account_id($params);
        if ($id <= 0) {
            return 'This service has no account in the panel yet (no Panel Account ID).';
        }
        $result = billingpanel_call($params, $action, 'POST', '/accounts/' . $id . $path, $body);
        if (!$result['ok']) {
            return $result['error'];
        }
        billingpanel_remember($params, $result['data']);
        return 'success';
    });
}

function billingpanel_CreateAccount(array $params)
{
    return billingpanel_guard('CreateAccount', $params, function () use ($params) {
        $client = $params['clientsdetails'] ?? [];
        $name = trim(($client['firstname'] ?? '') . ' ' . ($client['lastname'] ?? ''));
        $body = [
            'subscriber' => [
                'external_id' => 'whmcs-client-' . ($params['userid'] ?? ($client['userid'] ?? '')),
                'email' => (string)($client['email'] ?? ''),
                'name' => $name !== '' ? $name : (string)($client['email'] ?? ''),
            ],
            'plan' => (int)($params['configoption1'] ?? 0),
            'months' => max(1, (int)($params['configoption2'] ?? 1)),
        ];
        if (!empty($params['username'])) {
            $body['username'] = (string)$params['username'];
        }
        $result = billingpanel_call($params, 'CreateAccount', 'POST', '/accounts', $body);
        if (!$result['ok']) {
            return $result['error'];
        }
        billingpanel_remember($params, $result['data']);
        return 'success';
    });
}

function billingpanel_SuspendAccount(array $params)
{
    return billingpanel_action($params, 'SuspendAccount', '/suspend',
        ['reason' => (string)($params['suspendreason'] ?? '')]);
}

function billingpanel_UnsuspendAccount(array $params)
{
    return billingpanel_action($params, 'UnsuspendAccount', '/unsuspend', []);
}

function billingpanel_TerminateAccount(array $params)
{
    return billingpanel_action($params, 'TerminateAccount', '/terminate', []);
}

function billingpanel_Renew(array $params)
{
    $reference = 'whmcs-' . ($params['serviceid'] ?? '0') . '-' . gmdate('Ymd');
    return billingpanel_action($params, 'Renew', '/renew', [
        'months' => max(1, (int)($params['configoption2'] ?? 1)),
        'payment_reference' => $reference,
    ]);
}

function billingpanel_ChangePackage(array $params)
{
    return billingpanel_action($params, 'ChangePackage', '/change-plan',
        ['plan' => (int)($params['configoption1'] ?? 0), 'when' => 'now']);
}

/** The panel generates passwords: a change asks it for a new one and stores it in WHMCS. */
function billingpanel_ChangePassword(array $params)
{
    return billingpanel_action($params, 'ChangePassword', '/reset-password', []);
}

function billingpanel_ResetPassword(array $params)
{
    return billingpanel_action($params, 'ResetPassword', '/reset-password', []);
}

function billingpanel_RenewButton(array $params)
{
    return billingpanel_Renew($params);
}

/** Send WHMCS's welcome email again, with the credentials as the panel has them now. */
function billingpanel_ResendWelcome(array $params)
{
    return billingpanel_guard('ResendWelcome', $params, function () use ($params) {
        $id = billingpanel_account_id($params);
        if ($id <= 0) {
            return 'This service has no account in the panel yet (no Panel Account ID).';
        }
        $result = billingpanel_call($params, 'ResendWelcome', 'GET', '/accounts/' . $id);
        if (!$result['ok']) {
            return $result['error'];
        }
        billingpanel_remember($params, $result['data']);
        if (!function_exists('localAPI')) {
            return 'WHMCS localAPI is not available to send the email.';
        }
        $sent = localAPI('SendEmail', [
            'messagename' => 'Hosting Account Welcome Email',
            'id' => (int)($params['serviceid'] ?? 0),
        ]);
        if (!is_array($sent) || ($sent['result'] ?? '') !== 'success') {
            return 'WHMCS could not send the welcome email: ' . (is_array($sent) ? ($sent['message'] ?? 'unknown error') : 'unknown error');
        }
        return 'success';
    });
}

function billingpanel_AdminCustomButtonArray()
{
    return [
        'Renew' => 'RenewButton',
        'Reset Password' => 'ResetPassword',
        'Resend Welcome' => 'ResendWelcome',
    ];
}

/**
 * WHMCS's "Test Connection" button. A test key is reported as a failure on purpose, so
 * that a bp_test_ key is never left on a production server by mistake.
 */
function billingpanel_TestConnection(array $params)
{
    try {
        $result = billingpanel_call($params, 'TestConnection', 'GET', '/ping');
        if (!$result['ok']) {
            return ['success' => false, 'error' => $result['error']];
        }
        $ping = $result['data'];
        if (($ping['mode'] ?? '') !== 'live') {
            return ['success' => false, 'error' => 'Connected to ' . ($ping['reseller'] ?? '?')
                . ' with a TEST key ("' . ($ping['key_name'] ?? '') . '"): accounts it creates are test data. '
                . 'Use a bp_live_ key in production.'];
        }
        $needed = ['accounts:read', 'accounts:write'];
        $missing = array_values(array_diff($needed, (array)($ping['scopes'] ?? [])));
        if ($missing) {
            return ['success' => false, 'error' => 'The key lacks the scopes: ' . implode(', ', $missing) . '.'];
        }
        return ['success' => true, 'error' => ''];
    } catch (\Throwable $e) {
        return ['success' => false, 'error' => 'Billing panel module error: ' . $e->getMessage()];
    }
}

/** The client area: the credentials and the period, as the panel has them now. */
function billingpanel_ClientArea(array $params)
{
    try {
        $id = billingpanel_account_id($params);
        if ($id <= 0) {
            return ['templatefile' => 'templates/clientarea', 'vars' => ['error' => 'The account is being set up.']];
        }
        $result = billingpanel_call($params, 'ClientArea', 'GET', '/accounts/' . $id);
        if (!$result['ok']) {
            return ['templatefile' => 'templates/clientarea', 'vars' => ['error' => 'Your account details are not available right now.']];
        }
        $account = $result['data'];
        return [
            'templatefile' => 'templates/clientarea',
            'vars' => [
                'error' => '',
                'username' => $account['username'] ?? '',
                'password' => $account['password'] ?? '',
                'status' => $account['status'] ?? '',
                'expires_at' => $account['expires_at'] ?? '',
            ],
        ];
    } catch (\Throwable $e) {
        return ['templatefile' => 'templates/clientarea', 'vars' => ['error' => 'Your account details are not available right now.']];
    }
}
