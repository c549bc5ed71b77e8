# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options bluegreen_deployment and bluegreen_deployment_info share: which service, whichever controller."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  controller:
    description:
      - Who runs the service's deployments (the inventory's C(bluegreen_controller)). Unset = O(names)'
        C(controller), which the bluegreen role adds to the model's names.
    type: str
    choices: [codedeploy, ecs]
  names:
    description:
      - The service's names as the model gives them (C(bluegreen_names), module_utils/model/names.py). CodeDeploy
        reads C(codedeploy_application), C(deployment_group) and C(hook_functions); ECS C(cluster) and
        C(ecs_service).
    type: dict
    required: true
"""
