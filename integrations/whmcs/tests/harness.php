<?php
/**
 * Calls each module function as WHMCS would and prints one JSON object of the answers.
 *
 *   php harness.php <scenario>   scenario: empty | unreachable | full
 *   environment: PANEL_URL, API_KEY, PLAN_ID, OTHER_PLAN_ID, SERVICE_ID
 */

define('WHMCS', true);

$GLOBALS['module_log'] = [];

/** WHMCS's logger: it replaces each of $replaceVars in what it stores. */
function logModuleCall($module, $action, $request, $response, $processed, $replaceVars = [])
{
    $text = json_encode([$request, $response, $processed]);
    foreach ($replaceVars as $secret) {
        if ($secret !== '') {
            $text = str_replace($secret, str_repeat('*', 8), $text);
        }
    }
    $GLOBALS['module_log'][] = ['module' => $module, 'action' => $action, 'masked' => $text,
        'replace_vars' => $replaceVars];
}

function localAPI($command, $values)
{
    $GLOBALS['local_api'][] = [$command, $values];
    return ['result' => 'success'];
}

/** A stand-in for the WHMCS service model: keeps what the module saves. */
class FakeProperties
{
    public $saved = [];

    public function save(array $values)
    {
        $this->saved = array_merge($this->saved, $values);
    }
}

class FakeService
{
    public $serviceProperties;

    public function __construct()
    {
        $this->serviceProperties = new FakeProperties();
    }
}

require __DIR__ . '/../modules/servers/billingpanel/billingpanel.php';

$scenario = $argv[1] ?? 'full';
$out = ['scenario' => $scenario];

$functions = ['CreateAccount', 'SuspendAccount', 'UnsuspendAccount', 'TerminateAccount', 'Renew',
    'ChangePackage', 'ChangePassword', 'ResetPassword', 'ResendWelcome', 'RenewButton'];

if ($scenario === 'empty' || $scenario === 'unreachable') {
    $params = $scenario === 'empty' ? [] : [
        'serverhostname' => 'http://127.0.0.1:9', 'serverpassword' => getenv('API_KEY'),
        'serviceid' => 1, 'username' => 'someone', 'configoption1' => '1', 'configoption2' => '1',
        'customfields' => ['Panel Account ID' => '5'],
    ];
    $out['MetaData'] = billingpanel_MetaData();
    $out['ConfigOptions'] = billingpanel_ConfigOptions();
    $out['AdminCustomButtonArray'] = billingpanel_AdminCustomButtonArray();
    $out['TestConnection'] = billingpanel_TestConnection($params);
    $out['ClientArea'] = billingpanel_ClientArea($params);
    foreach ($functions as $name) {
        $out[$name] = call_user_func('billingpanel_' . $name, $params);
    }
    $out['log'] = $GLOBALS['module_log'];
    echo json_encode($out);
    exit(0);
}

$service = new FakeService();
$params = [
    'serverhostname' => getenv('PANEL_URL'),
    'serversecure' => '',
    'serverpassword' => getenv('API_KEY'),
    'serviceid' => (int)getenv('SERVICE_ID'),
    'userid' => 301,
    'username' => '',
    'password' => '',
    'configoption1' => getenv('PLAN_ID'),
    'configoption2' => '1',
    'clientsdetails' => ['userid' => 301, 'firstname' => 'Ana', 'lastname' => 'García',
        'email' => 'ana@example.net'],
    'customfields' => [],
    'model' => $service,
    'suspendreason' => 'Overdue invoice',
];

$out['MetaData'] = billingpanel_MetaData();
$out['ConfigOptions'] = billingpanel_ConfigOptions();
$out['AdminCustomButtonArray'] = billingpanel_AdminCustomButtonArray();
$out['TestConnection'] = billingpanel_TestConnection($params);
$out['CreateAccount'] = billingpanel_CreateAccount($params);
// A retried order (same service, action and day) replays: still one account.
$out['CreateAccountAgain'] = billingpanel_CreateAccount($params);
// WHMCS passes back what the module saved on the service.
$params['customfields'] = ['Panel Account ID' => $service->serviceProperties->saved['Panel Account ID'] ?? ''];
$params['username'] = $service->serviceProperties->saved['username'] ?? '';
$out['saved'] = $service->serviceProperties->saved;
$out['ClientArea'] = billingpanel_ClientArea($params);
$out['SuspendAccount'] = billingpanel_SuspendAccount($params);
$out['UnsuspendAccount'] = billingpanel_UnsuspendAccount($params);
$out['Renew'] = billingpanel_Renew($params);
$params['configoption1'] = getenv('OTHER_PLAN_ID');
$out['ChangePackage'] = billingpanel_ChangePackage($params);
$before = $service->serviceProperties->saved['password'] ?? '';
$out['ChangePassword'] = billingpanel_ChangePassword($params);
$out['password_changed'] = ($service->serviceProperties->saved['password'] ?? '') !== $before;
$out['ResendWelcome'] = billingpanel_ResendWelcome($params);
// Found by username when the custom field is missing.
$byName = $params;
$byName['customfields'] = [];
$out['ClientAreaByUsername'] = billingpanel_ClientArea($byName);
$out['TerminateAccount'] = billingpanel_TerminateAccount($params);
// Another day's key (the key is service, action and date): the panel refuses, no exception.
$params['serviceid'] += 100000;
$out['SuspendTerminated'] = billingpanel_SuspendAccount($params);
$out['log'] = $GLOBALS['module_log'];
$out['local_api'] = $GLOBALS['local_api'] ?? [];
echo json_encode($out);
